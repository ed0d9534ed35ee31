import OpenAPIParser from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPERATIONS } from "../../app/lib/operations";
import { sessionActor } from "../../app/services/actor.server";
import { system } from "../support/keyward";
import { expectEvery } from "../support/expect";
import { call, setup, type Fixture } from "./support";

type Operation = keyof typeof OPERATIONS;
type Document = {
  openapi: string;
  paths: Record<string, Record<string, { security?: unknown[]; requestBody?: unknown; "x-keyward-scope"?: string; "x-keyward-operation"?: string; responses: Record<string, { content?: Record<string, unknown>; "x-codes"?: string[] }> }>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
};

describe("GET /api/v1/openapi.json", () => {
  let f: Fixture;
  let document: Document;
  beforeAll(async () => {
    f = await setup();
    const response = await call<Document>(f.app, "/api/v1/openapi.json");
    expect(response.status).toBe(200);
    document = response.body;
  });
  afterAll(() => f.close());

  it("is public and a valid OpenAPI 3.1 document", async () => {
    expect(document.openapi).toBe("3.1.0");
    await expect(OpenAPIParser.validate(structuredClone(document) as never)).resolves.toBeTruthy();
  });

  it("documents every endpoint of the contract, with the ApiKey fields the contract lists", () => {
    const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations).toEqual(
      expect.arrayContaining([
        "GET /api/v1/me",
        "GET /api/v1/keys",
        "POST /api/v1/keys",
        "GET /api/v1/keys/{id}",
        "PATCH /api/v1/keys/{id}",
        "DELETE /api/v1/keys/{id}",
        "POST /api/v1/keys/{id}/rotate",
        "POST /api/v1/keys/{id}/reveal",
        "POST /api/v1/verify",
        "POST /api/v1/verify/report",
        "GET /api/v1/apis",
        "POST /api/v1/apis",
        "GET /api/v1/apis/{id}",
        "PATCH /api/v1/apis/{id}",
        "DELETE /api/v1/apis/{id}",
        "GET /api/v1/apis/{id}/keys",
        "POST /api/v1/apis/{id}/keys",
        "GET /api/v1/apis/{id}/usage",
        "GET /api/v1/identities",
        "POST /api/v1/identities",
        "PATCH /api/v1/identities",
        "DELETE /api/v1/identities",
        "GET /api/v1/identities/{id}",
        "PATCH /api/v1/identities/{id}",
        "DELETE /api/v1/identities/{id}",
        "POST /api/v1/identities/{id}/revoke-keys",
        "POST /api/v1/identities/{id}/disable-keys",
        "GET /api/v1/identities/{id}/usage",
        "GET /api/v1/keys/{id}/usage",
        "GET /api/v1/keys/{id}/requests",
        "GET /api/v1/openapi.json",
        "GET /api/health",
        "GET /api/ready",
      ]),
    );
    const apiKey = document.components.schemas.ApiKey!;
    for (const field of ["id", "name", "description", "start", "last4", "ownerId", "scopes", "allowedIps", "rateLimit", "status", "expiresAt", "disabledAt", "revokedAt", "createdAt", "updatedAt", "lastUsedAt", "lastUsedIp", "requestCount", "metadata", "recoverable", "kind", "apiId", "identityId", "permissions", "apiIds", "credits", "ratelimits"]) {
      expect(apiKey.properties, field).toHaveProperty(field);
    }
    expect(apiKey.properties).not.toHaveProperty("digest");
    // Generated from the handlers' own schemas: the create body lists what POST /keys validates.
    expect(Object.keys(document.components.schemas.CreateKeyRequest!.properties!).sort()).toEqual(
      ["allowedIps", "apiIds", "description", "expiresAt", "expiresInDays", "metadata", "name", "ownerId", "rateLimit", "recoverable", "scopes"].sort(),
    );
    expect(Object.keys(document.components.schemas.CreateIssuedKeyRequest!.properties!).sort()).toEqual(
      ["allowedIps", "credits", "description", "expiresAt", "expiresInDays", "externalId", "identityId", "meta", "name", "permissions", "rateLimit", "ratelimits", "recoverable"].sort(),
    );
    expect(Object.keys(document.components.schemas.UpdateKeyRequest!.properties!)).toEqual(expect.arrayContaining(["credits", "addCredits", "rateLimit", "ratelimits"]));
    for (const body of ["CreateIdentityRequest", "UpdateIdentityRequest", "Identity"]) expect(document.components.schemas[body]!.properties, body).toHaveProperty("ratelimits");
    expect(Object.keys(document.components.schemas.VerifyRequest!.properties!).sort()).toEqual(["apiId", "cost", "ip", "key", "permissions", "ratelimits", "tags"]);
    // Verification usage: points by outcome, the API's top keys, and the verification fields of a request-log entry.
    expect(Object.keys(document.components.schemas.VerificationUsage!.properties!).sort()).toEqual(["from", "granularity", "points", "to", "totals"]);
    expect(document.components.schemas.ApiVerificationUsage!.properties).toHaveProperty("topKeys");
    expect(document.components.schemas.UsageSeries!.properties).toHaveProperty("verifications");
    const entry = (document.components.schemas.RequestLogPage!.properties!.data as { items: { properties: Record<string, unknown> } }).items;
    for (const field of ["outcome", "tags", "apiId", "identityId", "rootKeyId"]) expect(entry.properties, field).toHaveProperty(field);
  });

  it("names each operation's scope from the operation table, and not_a_root_key among the refusals of every authenticated one", () => {
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        if (operation.security?.length === 0) continue;
        const name = operation["x-keyward-operation"]!;
        expect(OPERATIONS, `${method} ${path}`).toHaveProperty([name]);
        expect(operation["x-keyward-scope"], `${method} ${path}`).toBe(OPERATIONS[name as Operation].scope);
        expect(operation.responses["403"]?.["x-codes"], `${method} ${path}`).toContain("not_a_root_key");
      }
    }
    expect(document.paths["/api/v1/apis"]!.post!["x-keyward-scope"]).toBe("write");
    expect(document.paths["/api/v1/security-events"]!.get!["x-keyward-scope"]).toBe("admin");
  });

  it("documents the verdict exactly: bare INVALID, and the issued key's details otherwise", () => {
    type Variant = { properties: Record<string, { const?: string | boolean; enum?: string[] }>; required: string[] };
    // A union on `valid` for generated clients: `true` (the key's details required), or a refusal, itself a union on `code`.
    const [verified, refused, ...rest] = (document.components.schemas.VerifyResult as { oneOf: [Variant, { anyOf: Variant[] }] }).oneOf;
    expect(rest).toEqual([]);
    expect(verified.properties.valid!.const).toBe(true);
    expect(verified.required).toEqual(expect.arrayContaining(["valid", "code", "keyId", "apiId", "name", "permissions"]));
    expectEvery(refused.anyOf, (variant) => variant.properties.valid!.const === false);
    const variants = [verified, ...refused.anyOf];
    const codes = variants.flatMap((variant) => variant.properties.code!.const ?? variant.properties.code!.enum!);
    expect(codes.sort()).toEqual(["DISABLED", "EXPIRED", "INSUFFICIENT_PERMISSIONS", "INVALID", "IP_NOT_ALLOWED", "RATE_LIMITED", "REVOKED", "USAGE_EXCEEDED", "VALID", "WRONG_API"]);
    const invalid = variants.find((variant) => variant.properties.code!.const === "INVALID")!;
    expect(Object.keys(invalid.properties).sort()).toEqual(["code", "valid"]);
    const valid = variants.find((variant) => variant.properties.code!.const === "VALID")!;
    expect(Object.keys(valid.properties).sort()).toEqual(["apiId", "code", "credits", "expiresAt", "identity", "keyId", "meta", "name", "permissions", "ratelimits", "valid"]);
    expect(variants.find((variant) => variant.properties.code!.const === "INSUFFICIENT_PERMISSIONS")!.required).toContain("missing");
    expect(variants.find((variant) => variant.properties.code!.const === "RATE_LIMITED")!.required).toEqual(expect.arrayContaining(["ratelimit", "ratelimits"]));
  });

  /** An open alert about a key: a use of the revoked key fires the "revoked key used" rule. */
  async function openAlert(keyId: string): Promise<string> {
    f.app.keyward.securityEvents.record({ kind: "key_revoked", severity: "warning", keyId, clientIp: "203.0.113.7" });
    await f.app.keyward.securityEvents.flush();
    const { data } = await f.app.keyward.security.listAlerts(system, { status: "open" });
    return data.find((alert) => alert.subject === keyId)!.id;
  }

  it("every documented path answers with success (never 404 or 500)", async () => {
    let n = 0;
    for (const [template, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        // Fresh targets each time, so a DELETE cannot spoil the next operation.
        const { apiKey } = await f.createKey(f.admin.id, { scopes: ["admin"], recoverable: true });
        const api = await f.app.keyward.apis.create(sessionActor({ id: f.admin.id, role: "admin" }), { name: "doc", prefix: `doc${n++}` });
        const identity = await f.app.keyward.identities.create(system, { apiId: api.id, externalId: `doc_${n}` });
        const ids: Record<string, string> = { alerts: template.startsWith("/api/v1/alerts/") ? await openAlert(apiKey.id) : "", apis: api.id, identities: identity.id, keys: apiKey.id, users: f.member.id };
        let path = template.replace("{id}", ids[template.split("/")[3]!]!);
        if (template === "/api/v1/identities" && (method === "patch" || method === "delete")) path += `?externalId=${identity.externalId}`;
        const key = operation.security?.length === 0 ? undefined : f.adminKey;
        if (operation.responses["200"]?.content?.["text/event-stream"]) {
          // A stream never ends: its status and type are the answer.
          const controller = new AbortController();
          const response = await fetch(`${f.app.url}${path}`, { headers: { Authorization: `Bearer ${key}` }, signal: controller.signal });
          expect(response.status, `${method} ${path}`).toBe(200);
          expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
          controller.abort();
          continue;
        }
        const bodies: Record<string, unknown> = {
          "post /api/v1/keys": { name: "doc", scopes: ["read"] },
          "post /api/v1/verify": template === "/api/v1/verify" ? { key: (await f.app.keyward.keys.createIssued(system, api.id, {})).key, apiId: api.id } : undefined,
          "post /api/v1/verify/report":
            template === "/api/v1/verify/report" ? { admissions: [{ keyId: (await f.app.keyward.keys.createIssued(system, api.id, {})).apiKey.id, at: new Date().toISOString() }] } : undefined,
          "post /api/v1/apis": { name: "doc", prefix: `docnew${n}` },
          "post /api/v1/apis/{id}/keys": { externalId: "doc_customer" },
          "post /api/v1/identities": { apiId: api.id, externalId: "doc_new" },
          "post /api/v1/users": { email: `doc${n}@example.test`, password: "a long enough password" },
          "patch /api/v1/users/{id}": { role: "member" },
        };
        const response = await call(f.app, path, { method: method.toUpperCase(), key, body: bodies[`${method} ${template}`] });
        expect(response.status, `${method} ${path}: ${response.text}`).toBeLessThan(400);
        if (template === "/api/v1/verify") expect(response.body).toMatchObject({ valid: true, code: "VALID" });
      }
    }
  });

  it("is rendered for people at /docs/api", async () => {
    const response = await fetch(`${f.app.url}/docs/api`);
    expect(response.status).toBe(200);
    const html = await response.text();
    for (const text of ["/api/v1/keys/{id}/rotate", "Verify a key", "insufficient_scope", "CreateKeyRequest", "gracePeriodSeconds", "credentials_in_url", "/api/v1/apis/{id}/keys", "not_a_root_key", "CreateIssuedKeyRequest"]) {
      expect(html).toContain(text);
    }
  });
});
