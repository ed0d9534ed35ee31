import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { apiKeys } from "../../db/schema";
import { LATEST_INSTANT } from "../../app/lib/dates";
import type { CreateKeyInput } from "../../app/lib/key-schemas";
import type { ApiKeyView } from "../../app/services/keys.server";
import { system } from "../support/keyward";
import { call, expectProblem, keyState, setup, type ApiResponse, type Fixture } from "./support";

type FieldErrors = { errors: { field: string; message: string }[] };
type Created = { key: string; apiKey: ApiKeyView };
type Rotated = Created & { previous: ApiKeyView };

const HOUR = 3_600_000;

/** The settings a test compares before and after a refused request. */
const restrictionsOf = ({ scopes, allowedIps, rateLimit, expiresAt }: ApiKeyView) => ({ scopes, allowedIps, rateLimit, expiresAt });

/** A key's state without its usage: a refused request still counts as a use of the key that made it, recorded a moment later. */
const withoutUsage = ({ lastUsedAt: _at, lastUsedIp: _ip, requestCount: _count, ...state }: ApiKeyView) => state;

function expectRefusedField(response: ApiResponse<FieldErrors>, field: string, label: string): void {
  expectProblem(response as unknown as ApiResponse, 403, "forbidden");
  expect(response.body.errors.map((error) => error.field), label).toEqual([field]);
}

describe("a key acting on keys never ends less restricted than itself (REST)", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  /** Like the reported key: write scope, loopback only, a small rate limit, one day to live. */
  const restrictedKey = (input: Partial<CreateKeyInput> = {}) =>
    f.createKey(f.member.id, { name: "restricted", scopes: ["read", "write"], allowedIps: ["127.0.0.1/32"], rateLimit: { requests: 5, windowSeconds: 60 }, expiresInDays: 1, ...input });

  it("cannot lift (nor change) its own allowlist, rate limit, expiry or scopes; may rename and describe itself", async () => {
    const { key, apiKey } = await restrictedKey();
    const path = `/api/v1/keys/${apiKey.id}`;
    const lifted = await call(f.app, path, { key, method: "PATCH", body: { allowedIps: [], rateLimit: { requests: 1_000_000, windowSeconds: 1 }, expiresAt: null } });
    expectProblem(lifted, 403, "self_modification_forbidden");
    expectProblem(await call(f.app, path, { key, method: "PATCH", body: { rateLimit: { requests: 1, windowSeconds: 60 } } }), 403, "self_modification_forbidden");
    expectProblem(await call(f.app, path, { key, method: "PATCH", body: { scopes: ["read"] } }), 403, "self_modification_forbidden");
    const renamed = await call<ApiKeyView>(f.app, path, { key, method: "PATCH", body: { name: "renamed", description: "mine", metadata: { team: "ops" } } });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.body).toMatchObject({ name: "renamed", description: "mine", metadata: { team: "ops" } });
    expect(restrictionsOf(await keyState(f.app, apiKey.id))).toEqual(restrictionsOf(apiKey));
    // Its owner's less restricted key can change it.
    const widened = await call<ApiKeyView>(f.app, path, { key: f.memberKey, method: "PATCH", body: { allowedIps: ["127.0.0.0/8"], rateLimit: null } });
    expect(widened.status, widened.text).toBe(200);
    expect(widened.body).toMatchObject({ allowedIps: ["127.0.0.0/8"], rateLimit: null });
  });

  it("cannot mint a key less restricted than itself in any one way, and may mint one within", async () => {
    const { key, apiKey: parent } = await restrictedKey({ rateLimit: { requests: 50, windowSeconds: 60 } });
    const earlier = new Date(Date.parse(parent.expiresAt!) - HOUR).toISOString();
    const within = { name: "minted", scopes: ["read"], allowedIps: ["127.0.0.1"], rateLimit: { requests: 10, windowSeconds: 60 }, expiresAt: earlier };
    const count = async () => (await f.app.keyward.keys.list(system, { limit: 100 })).data.length;
    const before = await count();
    const refusals: [string, Record<string, unknown>, string][] = [
      ["no allowlist (any address)", { allowedIps: undefined }, "allowedIps"],
      ["every IPv4 address", { allowedIps: ["0.0.0.0/0"] }, "allowedIps"],
      ["a wider network", { allowedIps: ["127.0.0.0/8"] }, "allowedIps"],
      ["one entry outside", { allowedIps: ["127.0.0.1", "192.0.2.1"] }, "allowedIps"],
      ["the other address family", { allowedIps: ["::1"] }, "allowedIps"],
      ["the default rate limit (1000/60)", { rateLimit: undefined }, "rateLimit"],
      ["more requests per window", { rateLimit: { requests: 51, windowSeconds: 60 } }, "rateLimit"],
      ["the same window budget, twice as fast", { rateLimit: { requests: 50, windowSeconds: 30 } }, "rateLimit"],
      ["a million a second", { rateLimit: { requests: 1_000_000, windowSeconds: 1 } }, "rateLimit"],
      ["no expiry", { expiresAt: null }, "expiresAt"],
      ["no expiry given", { expiresAt: undefined }, "expiresAt"],
      ["a later expiry", { expiresAt: undefined, expiresInDays: 2 }, "expiresAt"],
    ];
    for (const [label, change, field] of refusals) {
      expectRefusedField(await call<FieldErrors>(f.app, "/api/v1/keys", { key, method: "POST", body: { ...within, ...change } }), field, label);
    }
    expectProblem(await call(f.app, "/api/v1/keys", { key, method: "POST", body: { ...within, scopes: ["admin"] } }), 403, "insufficient_scope");
    expect(await count()).toBe(before);

    const minted = await call<Created>(f.app, "/api/v1/keys", { key, method: "POST", body: { ...within, allowedIps: ["127.0.0.1/32"], rateLimit: { requests: 25, windowSeconds: 30 } } });
    expect(minted.status, minted.text).toBe(201);
    expect((await call(f.app, "/api/v1/me", { key: minted.body.key })).status).toBe(200);

    // An admin revokes the original: what it minted was never less restricted than it was.
    expect((await call(f.app, `/api/v1/keys/${parent.id}`, { key: f.adminKey, method: "DELETE" })).status).toBe(200);
    expectProblem(await call(f.app, "/api/v1/me", { key }), 401, "key_revoked");
    const child = await keyState(f.app, minted.body.apiKey.id);
    expect(child.allowedIps).toEqual(["127.0.0.1"]);
    expect(child.rateLimit).toEqual({ requests: 25, windowSeconds: 30 });
    expect(Date.parse(child.expiresAt!)).toBeLessThanOrEqual(Date.parse(parent.expiresAt!));
  });

  it("cannot touch a key less restricted than itself, nor widen one that is within it", async () => {
    const { key, apiKey: acting } = await restrictedKey({ rateLimit: { requests: 50, windowSeconds: 60 } });
    const { apiKey: looser } = await f.createKey(f.member.id, { name: "looser" });
    const before = await keyState(f.app, looser.id);
    const path = `/api/v1/keys/${looser.id}`;
    expectRefusedField(await call<FieldErrors>(f.app, path, { key, method: "PATCH", body: { name: "taken" } }), "allowedIps", "rename");
    expectRefusedField(await call<FieldErrors>(f.app, path, { key, method: "DELETE" }), "allowedIps", "revoke");
    expectRefusedField(await call<FieldErrors>(f.app, `${path}/rotate`, { key, method: "POST" }), "allowedIps", "rotate");
    expect(await keyState(f.app, looser.id)).toEqual(before);

    const earlier = new Date(Date.parse(acting.expiresAt!) - HOUR).toISOString();
    const { apiKey: tighter } = await restrictedKey({ rateLimit: { requests: 5, windowSeconds: 60 }, expiresInDays: undefined, expiresAt: earlier });
    const tighterPath = `/api/v1/keys/${tighter.id}`;
    expectRefusedField(await call<FieldErrors>(f.app, tighterPath, { key, method: "PATCH", body: { allowedIps: [] } }), "allowedIps", "widen allowlist");
    expectRefusedField(await call<FieldErrors>(f.app, tighterPath, { key, method: "PATCH", body: { rateLimit: null } }), "rateLimit", "default rate limit");
    expectRefusedField(await call<FieldErrors>(f.app, tighterPath, { key, method: "PATCH", body: { expiresAt: null } }), "expiresAt", "no expiry");
    expect(restrictionsOf(await keyState(f.app, tighter.id))).toEqual(restrictionsOf(tighter));
    const narrowed = await call<ApiKeyView>(f.app, tighterPath, { key, method: "PATCH", body: { rateLimit: { requests: 2, windowSeconds: 60 }, name: "narrowed" } });
    expect(narrowed.status, narrowed.text).toBe(200);
    expect(narrowed.body.rateLimit).toEqual({ requests: 2, windowSeconds: 60 });
  });

  it("cannot rotate itself, not even a leaked key in its grace period with 0 s grace, nor cut its successor off", async () => {
    const { key: leaked, apiKey: original } = await restrictedKey({ rateLimit: { requests: 50, windowSeconds: 60 } });
    const rotated = await call<Rotated>(f.app, `/api/v1/keys/${original.id}/rotate`, { key: f.memberKey, method: "POST", body: { gracePeriodSeconds: 3600 } });
    expect(rotated.status, rotated.text).toBe(201);
    const successor = rotated.body.apiKey;
    const inGrace = await keyState(f.app, original.id);

    expectProblem(await call(f.app, `/api/v1/keys/${original.id}/rotate`, { key: leaked, method: "POST", body: { gracePeriodSeconds: 0 } }), 403, "self_modification_forbidden");
    expectRefusedField(await call<FieldErrors>(f.app, `/api/v1/keys/${successor.id}`, { key: leaked, method: "DELETE" }), "expiresAt", "revoke the successor");
    expectRefusedField(await call<FieldErrors>(f.app, `/api/v1/keys/${successor.id}`, { key: leaked, method: "PATCH", body: { disabled: true } }), "expiresAt", "disable the successor");
    expectRefusedField(await call<FieldErrors>(f.app, `/api/v1/keys/${successor.id}/rotate`, { key: leaked, method: "POST" }), "expiresAt", "rotate the successor");
    expect(withoutUsage(await keyState(f.app, original.id))).toEqual(withoutUsage(inGrace));
    expect((await keyState(f.app, successor.id)).status).toBe("active");
    expect((await call(f.app, "/api/v1/me", { key: rotated.body.key })).status).toBe(200);
    // Nobody rotates a key under rotation again: the owner rotates the successor instead.
    expectProblem(await call(f.app, `/api/v1/keys/${original.id}/rotate`, { key: f.memberKey, method: "POST" }), 409, "conflict");
    expect((await call(f.app, `/api/v1/keys/${successor.id}/rotate`, { key: f.memberKey, method: "POST" })).status).toBe(201);
  });

  it("serialises concurrent rotations of one key: exactly one succeeds and leaves exactly one successor", async () => {
    const { apiKey } = await f.createKey(f.member.id, { name: "raced" });
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => call(f.app, `/api/v1/keys/${apiKey.id}/rotate`, { key: f.adminKey, method: "POST", body: { gracePeriodSeconds: 60 } })),
    );
    expect(responses.map((response) => response.status).sort()).toEqual([201, ...Array<number>(9).fill(409)]);
    for (const response of responses.filter((r) => r.status === 409)) expectProblem(response, 409, "conflict");
    const successors = await f.app.keyward.database.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.rotatedFrom, apiKey.id));
    expect(successors).toHaveLength(1);
  });
});

describe("key expiries stay inside the accepted date range (REST)", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  const outside = ["9999-12-31T00:00:00Z", "0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", new Date(LATEST_INSTANT.getTime() + 1000).toISOString()];

  it("refuses an expiresAt outside it with 422 validation_failed naming the field, on create and update", async () => {
    const { apiKey } = await f.createKey(f.member.id);
    for (const expiresAt of outside) {
      const created = await call<FieldErrors>(f.app, "/api/v1/keys", { key: f.adminKey, method: "POST", body: { name: "far", scopes: ["read"], expiresAt } });
      expectProblem(created as unknown as ApiResponse, 422, "validation_failed");
      expect(created.body.errors.map((error) => error.field), expiresAt).toEqual(["expiresAt"]);
      const updated = await call<FieldErrors>(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.adminKey, method: "PATCH", body: { expiresAt } });
      expectProblem(updated as unknown as ApiResponse, 422, "validation_failed");
      expect(updated.body.errors.map((error) => error.field), expiresAt).toEqual(["expiresAt"]);
    }
    expect((await keyState(f.app, apiKey.id)).expiresAt).toBeNull();
    const last = await call<Created>(f.app, "/api/v1/keys", { key: f.adminKey, method: "POST", body: { name: "last", scopes: ["read"], expiresAt: LATEST_INSTANT.toISOString() } });
    expect(last.status, last.text).toBe(201);
    expect(last.body.apiKey.expiresAt).toBe(LATEST_INSTANT.toISOString());
  });

  it("rotates a key stored with expiry 9999-12-31: the successor's expiry is capped at the range's end, never a 500", async () => {
    const { apiKey } = await f.createKey(f.member.id);
    await f.app.keyward.database.db.update(apiKeys).set({ expiresAt: new Date("9999-12-31T00:00:00Z") }).where(eq(apiKeys.id, apiKey.id));
    const rotated = await call<Rotated>(f.app, `/api/v1/keys/${apiKey.id}/rotate`, { key: f.adminKey, method: "POST", body: { gracePeriodSeconds: 604_800 } });
    expect(rotated.status, rotated.text).toBe(201);
    expect(rotated.body.apiKey.expiresAt).toBe(LATEST_INSTANT.toISOString());
    expect((await call(f.app, "/api/v1/me", { key: rotated.body.key })).status).toBe(200);
  });
});

describe("KEYWARD_MAX_RATE_LIMIT bounds every key's rate limit (REST)", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup({ env: { KEYWARD_MAX_RATE_LIMIT: "100/60", KEYWARD_DEFAULT_RATE_LIMIT: "100/60" } });
  });
  afterAll(() => f.close());

  it("refuses a looser rate limit with 422 policy_violation on create, update and rotate", async () => {
    for (const rateLimit of [{ requests: 101, windowSeconds: 60 }, { requests: 100, windowSeconds: 30 }, { requests: 1_000_000, windowSeconds: 1 }]) {
      const created = await call<FieldErrors>(f.app, "/api/v1/keys", { key: f.adminKey, method: "POST", body: { name: "fast", scopes: ["read"], rateLimit } });
      expectProblem(created as unknown as ApiResponse, 422, "policy_violation");
      expect(created.body.errors.map((error) => error.field)).toEqual(["rateLimit"]);
    }
    const { apiKey } = await f.createKey(f.member.id);
    expectProblem(await call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.adminKey, method: "PATCH", body: { rateLimit: { requests: 1000, windowSeconds: 60 } } }), 422, "policy_violation");
    expect((await keyState(f.app, apiKey.id)).rateLimit).toBeNull();
    const atTheBound = await call<Created>(f.app, "/api/v1/keys", { key: f.adminKey, method: "POST", body: { name: "bound", scopes: ["read"], rateLimit: { requests: 100, windowSeconds: 60 } } });
    expect(atTheBound.status, atTheBound.text).toBe(201);
    // A key given more before the bound was set is not rotated into a new key with it.
    await f.app.keyward.database.db.update(apiKeys).set({ rateLimit: { requests: 1000, windowSeconds: 60 } }).where(eq(apiKeys.id, apiKey.id));
    expectProblem(await call(f.app, `/api/v1/keys/${apiKey.id}/rotate`, { key: f.adminKey, method: "POST" }), 422, "policy_violation");
  });

  it("refuses a named limit looser than the bound with the same 422 policy_violation, on keys and identities", async () => {
    const api = await call<{ id: string }>(f.app, "/api/v1/apis", { key: f.adminKey, method: "POST", body: { name: "Bounded", prefix: "bounded" } });
    expect(api.status, api.text).toBe(201);
    const daily = { name: "daily", limit: 101, durationSeconds: 86_400 };
    const refusedField = (response: ApiResponse<FieldErrors>) => {
      expectProblem(response as unknown as ApiResponse, 422, "policy_violation");
      return response.body.errors.map((error) => error.field);
    };
    expect(refusedField(await call<FieldErrors>(f.app, `/api/v1/apis/${api.body.id}/keys`, { key: f.adminKey, method: "POST", body: { ratelimits: [daily] } }))).toEqual(["ratelimits"]);
    expect(refusedField(await call<FieldErrors>(f.app, "/api/v1/identities", { key: f.adminKey, method: "POST", body: { apiId: api.body.id, externalId: "c1", ratelimits: [daily] } }))).toEqual(["ratelimits"]);
    const issued = await call<Created>(f.app, `/api/v1/apis/${api.body.id}/keys`, { key: f.adminKey, method: "POST", body: { externalId: "c1", ratelimits: [{ ...daily, limit: 100 }] } });
    expect(issued.status, issued.text).toBe(201);
    expect(refusedField(await call<FieldErrors>(f.app, `/api/v1/keys/${issued.body.apiKey.id}`, { key: f.adminKey, method: "PATCH", body: { ratelimits: [{ name: "burst", limit: 2, durationSeconds: 1 }] } }))).toEqual(["ratelimits"]);
    expect(refusedField(await call<FieldErrors>(f.app, `/api/v1/identities/${issued.body.apiKey.identityId}`, { key: f.adminKey, method: "PATCH", body: { ratelimits: [daily] } }))).toEqual(["ratelimits"]);
    expect((await keyState(f.app, issued.body.apiKey.id)).ratelimits).toEqual([{ ...daily, limit: 100 }]);
  });
});
