import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.server";
import { verificationMinutes } from "../../db/schema";
import { generateKey } from "../../app/lib/key-format";
import { sessionActor } from "../../app/services/actor.server";
import { ManualClock } from "../../app/services/clock.server";
import type { UsageRecorder } from "../../app/services/usage.server";
import { freshDatabase } from "../support/database";
import { createUser, system } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";
import { expectEvery } from "../support/expect";
import { serverSecrets } from "../support/secrets";

/**
 * Every verification of an issued key, over REST and tRPC, is counted by outcome for its key, API
 * and identity, moves the key's last use on VALID only, is one request-log line, and is a security
 * event when refused; what is held in memory is written by the close, and the reads agree.
 */
const clock = new ManualClock(new Date("2026-11-25T12:00:10Z"));
// Two instances in turn on one database: the same secrets, and no timed flush (only close and explicit flushes write).
const env = { ...serverSecrets(), KEYWARD_USAGE_FLUSH_MS: "60000" };

let database: DatabaseHandle;
let app: RunningApp;
let rootKey: string;
let rootKeyId: string;
let strangerKey: string;
let apiId: string;
let otherApiId: string;
let identityId: string;
const keys: Record<"good" | "limited" | "revoked" | "disabled" | "expired" | "fenced", { key: string; id: string }> = {} as never;

type Verdict = { valid: boolean; code: string };
type Outcomes = Record<string, number>;
type Usage = { granularity: string; points: { at: string; total: number; outcomes: Outcomes }[]; totals: { total: number; outcomes: Outcomes }; topKeys?: { keyId: string; total: number; refused: number }[] };

async function verifyRest(body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${app.url}/api/v1/verify`, { method: "POST", headers: { Authorization: `Bearer ${rootKey}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return ((await response.json()) as Verdict).code;
}

async function verifyTrpc(body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${app.url}/api/trpc/verify`, { method: "POST", headers: { Authorization: `Bearer ${rootKey}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { result: { data: Verdict } }).result.data.code;
}

async function get<T>(path: string, key = rootKey): Promise<{ status: number; body: T }> {
  const response = await fetch(`${app.url}${path}`, { headers: { Authorization: `Bearer ${key}` } });
  return { status: response.status, body: (await response.json()) as T };
}

async function trpcQuery<T>(procedure: string, input: unknown): Promise<T> {
  const response = await fetch(`${app.url}/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers: { Authorization: `Bearer ${rootKey}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { result: { data: T } }).result.data;
}

const open = () => startApp({ database, clock, env });
const flushAll = async () => {
  await (app.keyward.usage as UsageRecorder).flush();
  await app.keyward.securityEvents.flush();
};

beforeAll(async () => {
  database = await freshDatabase();
  app = await open();
  const member = await createUser(app.keyward, "member");
  const stranger = await createUser(app.keyward, "member");
  const root = await app.keyward.keys.create(system, { name: "service", scopes: ["read"], ownerId: member.id });
  rootKey = root.key;
  rootKeyId = root.apiKey.id;
  strangerKey = (await app.keyward.keys.create(system, { name: "stranger", scopes: ["read"], ownerId: stranger.id })).key;
  const actor = sessionActor({ id: member.id, role: "member" });
  apiId = (await app.keyward.apis.create(actor, { name: "Orders", prefix: "ordmeter", permissions: ["orders.read", "orders.write"] })).id;
  otherApiId = (await app.keyward.apis.create(actor, { name: "Billing", prefix: "billmeter" })).id;
  const issue = async (input: Parameters<typeof app.keyward.keys.createIssued>[2] = {}) => {
    const created = await app.keyward.keys.createIssued(system, apiId, input);
    return { key: created.key, id: created.apiKey.id, identityId: created.apiKey.identityId };
  };
  const good = await issue({ name: "good", externalId: "cust_1", permissions: ["orders.read"], rateLimit: { requests: 1000, windowSeconds: 60 } });
  identityId = good.identityId!;
  keys.good = good;
  keys.limited = await issue({ name: "limited", externalId: "cust_1", rateLimit: { requests: 2, windowSeconds: 60 } });
  keys.revoked = await issue({ name: "revoked" });
  keys.disabled = await issue({ name: "disabled" });
  keys.expired = await issue({ name: "expired", expiresInDays: 1 });
  keys.fenced = await issue({ name: "fenced", allowedIps: ["203.0.113.0/24"] });
  await app.keyward.keys.revoke(system, keys.revoked.id);
  await app.keyward.keys.disable(system, keys.disabled.id);
  // Past the expiry, still early in a minute: every verification below falls in one minute bucket.
  clock.advance(2 * 86_400_000);
});

afterAll(async () => {
  await app?.close();
  await database?.close();
});

const EXPECTED_API: Outcomes = { VALID: 8, INSUFFICIENT_PERMISSIONS: 1, WRONG_API: 1, RATE_LIMITED: 1, REVOKED: 2, DISABLED: 1, EXPIRED: 1, IP_NOT_ALLOWED: 1 };
const EXPECTED_IDENTITY: Outcomes = { VALID: 7, INSUFFICIENT_PERMISSIONS: 1, WRONG_API: 1, RATE_LIMITED: 1 };
const sum = (outcomes: Outcomes) => Object.values(outcomes).reduce((a, b) => a + b, 0);

describe("verification usage", () => {
  it("verifies with mixed outcomes over REST and tRPC, then counts them exactly per key, API and identity", async () => {
    const tags = ["GET /orders"];
    const { good, limited, revoked, disabled, expired, fenced } = keys;
    expect(await verifyRest({ key: good.key, ip: "203.0.113.5", tags })).toBe("VALID");
    expect(await verifyRest({ key: good.key, ip: "203.0.113.6", tags })).toBe("VALID");
    expect(await verifyTrpc({ key: good.key, ip: "203.0.113.6", tags })).toBe("VALID");
    expect(await verifyTrpc({ key: good.key, ip: "203.0.113.6" })).toBe("VALID");
    // No address: the use counts, the address last seen stays.
    expect(await verifyRest({ key: good.key })).toBe("VALID");
    expect(await verifyRest({ key: good.key, permissions: ["orders.write"], ip: "203.0.113.9" })).toBe("INSUFFICIENT_PERMISSIONS");
    expect(await verifyTrpc({ key: good.key, apiId: otherApiId, ip: "203.0.113.9" })).toBe("WRONG_API");
    for (const expected of ["VALID", "VALID", "RATE_LIMITED"]) expect(await verifyRest({ key: limited.key, ip: "198.51.100.20" })).toBe(expected);
    expect(await verifyRest({ key: revoked.key, ip: "198.51.100.21" })).toBe("REVOKED");
    expect(await verifyTrpc({ key: revoked.key, ip: "198.51.100.21" })).toBe("REVOKED");
    expect(await verifyTrpc({ key: disabled.key })).toBe("DISABLED");
    expect(await verifyRest({ key: expired.key })).toBe("EXPIRED");
    expect(await verifyRest({ key: fenced.key, ip: "198.51.100.1" })).toBe("IP_NOT_ALLOWED");
    expect(await verifyTrpc({ key: fenced.key, ip: "203.0.113.7" })).toBe("VALID");
    // Unknown keys name no key: nothing is recorded.
    expect(await verifyRest({ key: generateKey("ordmeter") })).toBe("INVALID");

    // Held in memory until a flush.
    expect(await database.db.select().from(verificationMinutes)).toEqual([]);
    await flushAll();

    const api = await app.keyward.usageReports.apiUsage(system, apiId, { granularity: "minute" });
    expect(api.totals).toEqual({ total: sum(EXPECTED_API), outcomes: expect.objectContaining(EXPECTED_API) });
    expect(sum(api.totals.outcomes)).toBe(sum(EXPECTED_API));
    expect(api.points.filter((point) => point.total > 0)).toEqual([{ at: "2026-11-27T12:00:00.000Z", total: 16, outcomes: api.totals.outcomes }]);
    expect(api.topKeys[0]).toMatchObject({ keyId: good.id, name: "good", total: 7, refused: 2 });
    expect(api.topKeys.find((row) => row.keyId === revoked.id)).toMatchObject({ total: 2, refused: 2 });
    // By refusals: only keys refused at all, most first (ties by id).
    expect(api.topKeysByRefusals.map((row) => row.refused)).toEqual([2, 2, 1, 1, 1, 1]);
    expect(new Set(api.topKeysByRefusals.slice(0, 2).map((row) => row.keyId))).toEqual(new Set([good.id, revoked.id]));
    expect(api.topKeysByRefusals.map((row) => row.keyId)).not.toContain(undefined);
    // Only cust_1's keys (good and limited) have an identity: 7 + 3 verifications, 2 + 1 refused.
    expect(api.topIdentities).toEqual([{ identityId, externalId: "cust_1", total: 10, refused: 3 }]);
    expect(api.topIdentitiesByRefusals).toEqual(api.topIdentities);

    const identity = await app.keyward.usageReports.identityUsage(system, identityId, { granularity: "hour" });
    expect(identity.totals).toEqual({ total: sum(EXPECTED_IDENTITY), outcomes: expect.objectContaining(EXPECTED_IDENTITY) });
    expect(sum(identity.totals.outcomes)).toBe(sum(EXPECTED_IDENTITY));

    const goodUsage = await app.keyward.usageReports.series(system, good.id, { granularity: "day", from: "2026-11-20T00:00:00Z" });
    expect(goodUsage.verifications!.totals).toEqual({ total: 7, outcomes: expect.objectContaining({ VALID: 5, INSUFFICIENT_PERMISSIONS: 1, WRONG_API: 1, REVOKED: 0 }) });
    expect(goodUsage.verifications!.points).toHaveLength(8);
  });

  it("moves last use and the request count on VALID only, and logs each verification with its tags and root key", async () => {
    const good = await app.keyward.keys.get(system, keys.good.id);
    expect(good).toMatchObject({ requestCount: 5, lastUsedAt: "2026-11-27T12:00:10.000Z", lastUsedIp: "203.0.113.6" });
    const revoked = await app.keyward.keys.get(system, keys.revoked.id);
    expect(revoked).toMatchObject({ requestCount: 0, lastUsedAt: null, lastUsedIp: null });
    const limited = await app.keyward.keys.get(system, keys.limited.id);
    expect(limited).toMatchObject({ requestCount: 2, lastUsedIp: "198.51.100.20" });

    const { data } = await app.keyward.usageReports.requests(system, keys.good.id, { limit: 50 });
    expect(data).toHaveLength(7);
    expectEvery(data, (row) => row.method === "POST" && row.path === "/api/v1/verify" && row.status === 200 && row.rootKeyId === rootKeyId);
    expectEvery(data, (row) => row.apiId === apiId && row.identityId === identityId);
    expect(data.filter((row) => row.tags?.[0] === "GET /orders")).toHaveLength(3);
    expect(data.map((row) => row.outcome).sort()).toEqual(["INSUFFICIENT_PERMISSIONS", "VALID", "VALID", "VALID", "VALID", "VALID", "WRONG_API"]);
    expect(data.filter((row) => row.clientIp === null)).toHaveLength(1);
    expectEvery(data, (row) => row.requestId);
  });

  it("records each refusal as a security event of the key, and a verified revoked key opens the revoked-key alert", async () => {
    const { data: events } = await app.keyward.security.listEvents(system, { limit: 200 });
    const fromVerify = events.filter((event) => event.details.via === "verify");
    const byKind = (kind: string) => fromVerify.filter((event) => event.kind === kind);
    const expected: [string, string, number][] = [
      ["key_revoked", keys.revoked.id, 2],
      ["key_disabled", keys.disabled.id, 1],
      ["key_expired", keys.expired.id, 1],
      ["ip_not_allowed", keys.fenced.id, 1],
      ["rate_limited", keys.limited.id, 1],
      ["insufficient_permissions", keys.good.id, 1],
      ["wrong_api", keys.good.id, 1],
    ];
    for (const [kind, keyId, count] of expected) {
      const rows = byKind(kind);
      expect(rows.map((row) => row.keyId), kind).toEqual([keyId]);
      expect(rows[0]!.count, kind).toBe(count);
      expect(rows[0]!.details, kind).toMatchObject({ apiId, via: "verify" });
    }
    expect(byKind("ip_not_allowed")[0]!.clientIp).toBe("198.51.100.1");
    expect(fromVerify.map((event) => event.kind).sort()).toEqual(expected.map(([kind]) => kind).sort());

    const { data: alerts } = await app.keyward.security.listAlerts(system, { status: "open" });
    expect(alerts.find((alert) => alert.ruleId === "revoked_key_used" && alert.subject === keys.revoked.id)).toMatchObject({ keyId: keys.revoked.id, severity: "critical" });
  });

  it("serves the same figures over REST and tRPC, and 404 to a root key of another member", async () => {
    const api = await get<Usage>(`/api/v1/apis/${apiId}/usage?granularity=minute`);
    expect(api.status).toBe(200);
    expect(api.body.totals.outcomes).toMatchObject(EXPECTED_API);
    expect(api.body.topKeys![0]).toMatchObject({ keyId: keys.good.id, total: 7, refused: 2 });
    // Additive fields next to the existing ones.
    expect(api.body).toMatchObject({ topIdentities: [{ identityId, externalId: "cust_1", total: 10, refused: 3 }], keysNearCreditEnd: [] });
    expect((api.body as unknown as { topKeysByRefusals: unknown[] }).topKeysByRefusals).toHaveLength(6);
    expect((await trpcQuery<Usage>("apis.usage", { id: apiId, granularity: "minute" })).totals).toEqual(api.body.totals);

    const identity = await get<Usage>(`/api/v1/identities/${identityId}/usage?granularity=day`);
    expect(identity.status).toBe(200);
    expect(identity.body.totals).toEqual({ total: 10, outcomes: expect.objectContaining(EXPECTED_IDENTITY) });
    expect(identity.body).not.toHaveProperty("topKeys");
    expect((await trpcQuery<Usage>("identities.usage", { id: identityId, granularity: "day" })).totals).toEqual(identity.body.totals);

    const key = await get<{ verifications: Usage }>(`/api/v1/keys/${keys.limited.id}/usage?granularity=hour`);
    expect(key.status).toBe(200);
    expect(key.body.verifications.totals).toEqual({ total: 3, outcomes: expect.objectContaining({ VALID: 2, RATE_LIMITED: 1 }) });
    const root = await get<Record<string, unknown>>(`/api/v1/keys/${rootKeyId}/usage`);
    expect(root.status).toBe(200);
    expect(root.body).not.toHaveProperty("verifications");
    const log = await get<{ data: { outcome: string; tags: string[] | null; rootKeyId: string }[] }>(`/api/v1/keys/${keys.good.id}/requests`);
    expect(log.body.data).toHaveLength(7);
    expectEvery(log.body.data, (row) => row.rootKeyId === rootKeyId);

    for (const path of [`/api/v1/apis/${apiId}/usage`, `/api/v1/identities/${identityId}/usage`, `/api/v1/keys/${keys.good.id}/usage`, `/api/v1/keys/${keys.good.id}/requests`]) {
      expect((await get(path, strangerKey)).status, path).toBe(404);
    }
  });

  it("lists the live keys near their credit end: at most 10 left, or at most 10 % of the refill; one entry for a rotated key's shared balance", async () => {
    const issue = async (name: string, credits: { remaining: number; refill?: { interval: "daily"; amount: number } }) => (await app.keyward.keys.createIssued(system, apiId, { name, credits })).apiKey.id;
    const low = await issue("low", { remaining: 3 });
    const tenth = await issue("tenth", { remaining: 100, refill: { interval: "daily", amount: 1000 } });
    await issue("plenty", { remaining: 101, refill: { interval: "daily", amount: 1000 } });
    await issue("eleven", { remaining: 11 });
    await app.keyward.keys.revoke(system, await issue("revoked-empty", { remaining: 0 }));
    const rotatedAway = await issue("rotated", { remaining: 0 });
    const successor = (await app.keyward.keys.rotate(system, rotatedAway, { gracePeriodSeconds: 3600 })).apiKey.id;
    const api = await get<{ keysNearCreditEnd: { keyId: string; name: string; remaining: number; refillAmount: number | null }[] }>(`/api/v1/apis/${apiId}/usage`);
    expect(api.status).toBe(200);
    expect(api.body.keysNearCreditEnd).toEqual([
      { keyId: successor, name: "rotated", identityId: null, remaining: 0, refillAmount: null },
      { keyId: low, name: "low", identityId: null, remaining: 3, refillAmount: null },
      { keyId: tenth, name: "tenth", identityId: null, remaining: 100, refillAmount: 1000 },
    ]);
    // A due refill counts already: tomorrow "tenth" is back to 1000.
    clock.advance(86_400_000);
    expect((await app.keyward.usageReports.apiUsage(system, apiId)).keysNearCreditEnd.map((key) => key.name)).toEqual(["rotated", "low"]);
    clock.advance(-86_400_000);
  });

  it("loses nothing held in memory when the instance closes right after a burst (the SIGTERM path: close flushes)", async () => {
    const burst = await app.keyward.keys.createIssued(system, apiId, { name: "burst", rateLimit: { requests: 1000, windowSeconds: 60 } });
    const before = await app.keyward.usageReports.apiUsage(system, apiId, { granularity: "minute" });
    const codes = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? verifyRest : verifyTrpc)({ key: burst.key, ip: "192.0.2.1" })));
    expectEvery(codes, (code) => code === "VALID");
    // Nothing of the burst is written yet (no timed flush): only the close's own flush can save it.
    expect(await database.db.select().from(verificationMinutes).where(eq(verificationMinutes.keyId, burst.apiKey.id))).toEqual([]);
    await app.close();

    app = await open();
    const after = await app.keyward.usageReports.apiUsage(system, apiId, { granularity: "minute" });
    expect(after.totals.total - before.totals.total).toBe(40);
    expect(after.topKeys.find((row) => row.keyId === burst.apiKey.id)).toMatchObject({ total: 40, refused: 0 });
    expect(await app.keyward.keys.get(system, burst.apiKey.id)).toMatchObject({ requestCount: 40, lastUsedIp: "192.0.2.1" });
    expect((await app.keyward.usageReports.requests(system, burst.apiKey.id, { limit: 200 })).data).toHaveLength(40);
  });
});
