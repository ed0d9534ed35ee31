/**
 * Regenerates app/lib/openapi-examples.json: one realistic request and response body per operation,
 * captured from a tour of the real app (built: `npm run build` first) over a fresh embedded database.
 * Run: `npx tsx tests/contract/capture-examples.ts`. tests/api/openapi-examples.test.ts checks every
 * example against its schema, so a stale one fails CI rather than misleading a reader.
 */
import fs from "node:fs";
import { setup } from "../api/support";
import { system } from "../support/keyward";
import { sessionActor } from "../../app/services/actor.server";

const f = await setup();
const examples: Record<string, unknown> = {};
const requests: Record<string, unknown> = {};
const streams: Record<string, string> = {};
const admin = sessionActor({ id: f.admin.id, role: "admin" });

async function tour(operationId: string, method: string, path: string, body?: unknown, as = f.adminKey): Promise<Record<string, unknown>> {
  const response = await fetch(`${f.app.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${as}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 400) throw new Error(`${operationId}: ${response.status} ${text}`);
  if (body !== undefined) requests[operationId] = body;
  if (!/^application\/json/.test(response.headers.get("content-type") ?? "")) {
    streams[`${operationId} ${response.headers.get("content-type")!.split(";")[0]}`] = text.split("\n").slice(0, 3).join("\n");
    return {};
  }
  const parsed = JSON.parse(text) as Record<string, unknown>;
  examples[operationId] = parsed;
  return parsed;
}

const created = await tour("createKey", "POST", "/api/v1/keys", { name: "billing-service", description: "Nightly invoice job", scopes: ["read", "write"], allowedIps: ["203.0.113.0/24"], expiresInDays: 90, metadata: { team: "billing" } });
const keyId = (created.apiKey as { id: string }).id;
await tour("getMe", "GET", "/api/v1/me");
await tour("listKeys", "GET", "/api/v1/keys?limit=2");
await tour("getKey", "GET", `/api/v1/keys/${keyId}`);
await tour("updateKey", "PATCH", `/api/v1/keys/${keyId}`, { description: "Nightly invoice job (EU)", rateLimit: { requests: 600, windowSeconds: 60 } });
const recoverable = await f.createKey(f.admin.id, { name: "ci-deployer", scopes: ["read"], recoverable: true });
await tour("revealKey", "POST", `/api/v1/keys/${recoverable.apiKey.id}/reveal`);
await tour("rotateKey", "POST", `/api/v1/keys/${keyId}/rotate`, { gracePeriodSeconds: 3600 });
await tour("revokeKey", "DELETE", `/api/v1/keys/${recoverable.apiKey.id}`);

const api = await tour("createApi", "POST", "/api/v1/apis", { name: "Orders API", prefix: "ord", permissions: ["orders.read", "orders.write"] });
const apiId = api.id as string;
await tour("listApis", "GET", "/api/v1/apis");
await tour("getApi", "GET", `/api/v1/apis/${apiId}`);
await tour("updateApi", "PATCH", `/api/v1/apis/${apiId}`, { name: "Orders API (v2)" });
const issued = await tour("createApiKey", "POST", `/api/v1/apis/${apiId}/keys`, { name: "acme production", externalId: "acme-corp", permissions: ["orders.read"], credits: { remaining: 1000 } });
await tour("listApiKeys", "GET", `/api/v1/apis/${apiId}/keys`);
await tour("verifyKey", "POST", "/api/v1/verify", { key: issued.key, apiId, permissions: ["orders.read"], ip: "198.51.100.7" });
await tour("reportVerifications", "POST", "/api/v1/verify/report", { admissions: [{ keyId: (issued.apiKey as { id: string }).id, ip: "198.51.100.7", at: new Date().toISOString(), count: 3 }] });
// Usage is written in batches every 2 s.
await new Promise((resolve) => setTimeout(resolve, 2500));
await tour("getApiUsage", "GET", `/api/v1/apis/${apiId}/usage`);

const identity = await tour("createIdentity", "POST", "/api/v1/identities", { apiId, externalId: "globex", meta: { plan: "enterprise" } });
const identityId = identity.id as string;
await tour("listIdentities", "GET", `/api/v1/identities?apiId=${apiId}`);
await tour("getIdentity", "GET", `/api/v1/identities/${identityId}`);
await tour("updateIdentity", "PATCH", `/api/v1/identities/${identityId}`, { meta: { plan: "enterprise", region: "eu" } });
await tour("updateIdentityByExternalId", "PATCH", `/api/v1/identities?externalId=globex&apiId=${apiId}`, { meta: { plan: "team" } });
await f.app.keyward.keys.createIssued(system, apiId, { identityId, name: "globex staging" });
await tour("disableIdentityKeys", "POST", `/api/v1/identities/${identityId}/disable-keys`);
await tour("revokeIdentityKeys", "POST", `/api/v1/identities/${identityId}/revoke-keys`);
await tour("getIdentityUsage", "GET", `/api/v1/identities/${identityId}/usage`);
await tour("deleteIdentity", "DELETE", `/api/v1/identities/${identityId}`);
const spare = await f.app.keyward.identities.create(system, { apiId, externalId: "initech" });
await tour("deleteIdentityByExternalId", "DELETE", `/api/v1/identities?externalId=${spare.externalId}&apiId=${apiId}`);
const archived = await f.app.keyward.apis.create(admin, { name: "Legacy API", prefix: "legacy" });
await tour("deleteApi", "DELETE", `/api/v1/apis/${archived.id}`);

await tour("getKeyUsage", "GET", `/api/v1/keys/${keyId}/usage`);
await tour("listKeyRequests", "GET", `/api/v1/keys/${keyId}/requests?limit=2`);
await tour("getUsageSummary", "GET", "/api/v1/usage/summary");
await tour("listAuditEntries", "GET", "/api/v1/audit?limit=2");
await tour("exportAuditEntries", "GET", "/api/v1/audit/export?limit=2");
await tour("exportAuditEntries", "GET", "/api/v1/audit/export?format=csv&limit=2");

f.app.keyward.securityEvents.record({ kind: "key_revoked", severity: "warning", keyId, clientIp: "203.0.113.7" });
await f.app.keyward.securityEvents.flush();
await tour("listSecurityEvents", "GET", "/api/v1/security-events?limit=2");
const alerts = await tour("listAlerts", "GET", "/api/v1/alerts?limit=2");
const alertId = (alerts.data as { id: string }[])[0]!.id;
const acked = await tour("acknowledgeAlert", "POST", `/api/v1/alerts/${alertId}/ack`);
examples.alertOpened = { type: "alert.opened", alert: (alerts.data as unknown[])[0] };
await tour("resolveAlert", "POST", `/api/v1/alerts/${alertId}/resolve`);
void acked;
const user = await tour("createUser", "POST", "/api/v1/users", { email: "dana@example.com", password: "correct horse battery staple", role: "member" });
await tour("listUsers", "GET", "/api/v1/users");
await tour("getUser", "GET", `/api/v1/users/${user.id as string}`);
await tour("updateUser", "PATCH", `/api/v1/users/${user.id as string}`, { role: "admin" });
await tour("resetUserPassword", "POST", `/api/v1/users/${user.id as string}/reset-password`, {});
await tour("getHealth", "GET", "/api/health");
await tour("getReady", "GET", "/api/ready");
examples["getReady 503"] = { status: "unavailable", database: (examples.getReady as { database: string }).database };

// An event stream never ends: its example is written, in the format the route sends.
streams["streamEvents text/event-stream"] = `retry: 2000\n\ndata: {"type":"key.changed","keyId":"${keyId}"}\n\n: heartbeat\n`;

await f.close();
// Plaintext keys of this throwaway instance become obvious placeholders of the same shape: a
// committed file never holds anything a reader or a secret scanner could take for a live key.
const placeholder = (text: string) => text.replace(/"key": "([a-z][a-z0-9_]*?)_([0-9A-Za-z]+)"/g, (_match, prefix: string, body: string) => `"key": "${prefix}_${"EXAMPLEkeyNOTlive".repeat(5).slice(0, body.length)}"`);
fs.writeFileSync("app/lib/openapi-examples.json", placeholder(`${JSON.stringify({ requests, responses: examples, streams }, null, 2)}\n`));
console.log(`${Object.keys(requests).length} requests, ${Object.keys(examples).length} responses, ${Object.keys(streams).length} streams`);
