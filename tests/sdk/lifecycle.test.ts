import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyward, keywardGuard, KeywardError, type KeywardClient } from "../../sdk/src/index";
import { createUser } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

/**
 * The SDK (from source) against the real HTTP stack: Express + the Remix build + tRPC + services
 * on a fresh database (PGlite, or Postgres with DATABASE_URL). The packed artifact is tested in
 * package.test.ts.
 */
describe("SDK against the running app", () => {
  let app: RunningApp;
  let member: Awaited<ReturnType<typeof createUser>>;
  let admin: Awaited<ReturnType<typeof createUser>>;
  let keyward: KeywardClient;
  let adminKeyward: KeywardClient;

  beforeAll(async () => {
    app = await startApp();
    member = await createUser(app.keyward, "member");
    admin = await createUser(app.keyward, "admin");
    // The integrator's own key, as they would copy it from the dashboard.
    const { key } = await app.keyward.keys.create(member.actor, { name: "integration", scopes: ["write"] });
    const { key: adminKey } = await app.keyward.keys.create(admin.actor, { name: "ops", scopes: ["admin"] });
    keyward = createKeyward({ baseUrl: app.url, apiKey: key, retries: 0 });
    adminKeyward = createKeyward({ baseUrl: app.url, apiKey: adminKey, retries: 0 });
  });
  afterAll(() => app?.close());

  it("root keys: create → list → rotate → revoke, through the SDK only", async () => {
    const me = await keyward.me();
    expect(me.user).toEqual({ id: member.id, email: member.email, role: "member" });
    expect(me.scopes).toEqual(["read", "write"]);

    const created = await keyward.keys.create({ name: "billing worker", scopes: ["read"], metadata: { team: "billing" }, expiresInDays: 30 });
    expect(created.key).toMatch(/^kw_[0-9A-Za-z]{61}$/);
    expect(created.apiKey).toMatchObject({ name: "billing worker", ownerId: member.id, scopes: ["read"], status: "active", metadata: { team: "billing" } });

    const page = await keyward.keys.list({ status: "active" });
    expect(page.data.map((k) => k.id)).toContain(created.apiKey.id);
    expect(JSON.stringify(page)).not.toContain(created.key);
    expect(await keyward.keys.get({ id: created.apiKey.id })).toMatchObject({ id: created.apiKey.id, start: created.key.slice(0, 7), last4: created.key.slice(-4) });
    // Root keys authenticate; they are never verified.
    expect(await keyward.verify({ key: created.key })).toEqual({ valid: false, code: "INVALID" });

    const rotated = await keyward.keys.rotate({ id: created.apiKey.id, gracePeriodSeconds: 3_600 });
    expect(rotated.key).not.toBe(created.key);
    expect(rotated.apiKey.rotatedFrom).toBe(created.apiKey.id);
    expect(await createKeyward({ baseUrl: app.url, apiKey: rotated.key }).me()).toMatchObject({ user: { id: member.id } });

    const revoked = await keyward.keys.revoke({ id: rotated.apiKey.id });
    expect(revoked.status).toBe("revoked");
    await expect(createKeyward({ baseUrl: app.url, apiKey: rotated.key }).me()).rejects.toMatchObject({ code: "key_revoked", status: 401 });
    expect((await keyward.keys.list({ status: "revoked" })).data.map((k) => k.id)).toContain(rotated.apiKey.id);
  });

  it("issued keys: verify by API and permissions → rotate → revoke", async () => {
    const api = await app.keyward.apis.create(member.actor, { name: "Orders", prefix: "ord_live", permissions: ["orders.read", "orders.write", "billing.read"] });
    const other = await app.keyward.apis.create(member.actor, { name: "Billing", prefix: "bill_live" });
    const created = await app.keyward.keys.createIssued(member.actor, api.id, { name: "acme", externalId: "acme-corp", permissions: ["orders.*"], meta: { plan: "pro" } });
    expect(created.key).toMatch(/^ord_live_[0-9A-Za-z]{55}$/);

    const verdict = await keyward.verify({ key: created.key, apiId: api.id, permissions: ["orders.read", "orders.write"] });
    expect(verdict).toEqual({
      valid: true,
      code: "VALID",
      keyId: created.apiKey.id,
      apiId: api.id,
      name: "acme",
      identity: { id: created.apiKey.identityId, externalId: "acme-corp", meta: {} },
      permissions: ["orders.*"],
      meta: { plan: "pro" },
      expiresAt: created.apiKey.expiresAt,
      credits: null,
      ratelimits: [],
    });
    expect(await keyward.verify({ key: created.key, apiId: api.id, permissions: { anyOf: ["billing.read", "orders.read"] } })).toMatchObject({ valid: true });
    expect(await keyward.verify({ key: created.key, permissions: ["orders.read", "billing.read"] })).toMatchObject({ valid: false, code: "INSUFFICIENT_PERMISSIONS", missing: ["billing.read"] });
    expect(await keyward.verify({ key: created.key, apiId: other.id })).toMatchObject({ valid: false, code: "WRONG_API", keyId: created.apiKey.id });
    // Another member's root key may not manage this API's keys: it learns nothing about them. An admin's sees all.
    const outsider = await createUser(app.keyward, "member");
    const { key: outsiderKey } = await app.keyward.keys.create(outsider.actor, { name: "outsider", scopes: ["read"] });
    expect(await createKeyward({ baseUrl: app.url, apiKey: outsiderKey }).verify({ key: created.key })).toEqual({ valid: false, code: "INVALID" });
    expect(await adminKeyward.verify({ key: created.key })).toMatchObject({ valid: true, keyId: created.apiKey.id });

    const rotated = await keyward.keys.rotate({ id: created.apiKey.id, gracePeriodSeconds: 3_600 });
    expect(rotated.key.startsWith("ord_live_")).toBe(true);
    expect(await keyward.verify({ key: rotated.key, apiId: api.id })).toMatchObject({ valid: true, keyId: rotated.apiKey.id });
    // Within the grace period the old key still works.
    expect(await keyward.verify({ key: created.key, apiId: api.id })).toMatchObject({ valid: true, keyId: created.apiKey.id });

    await keyward.keys.revoke({ id: rotated.apiKey.id });
    expect(await keyward.verify({ key: rotated.key })).toMatchObject({ valid: false, code: "REVOKED", keyId: rotated.apiKey.id });
  });

  it("issued keys: update, disable and enable", async () => {
    const api = await app.keyward.apis.create(member.actor, { name: "Temp", prefix: "temp" });
    const { key, apiKey } = await app.keyward.keys.createIssued(member.actor, api.id, { name: "temp", permissions: ["read"] });
    expect(await keyward.keys.update({ id: apiKey.id, name: "renamed", rateLimit: { requests: 50, windowSeconds: 60 } })).toMatchObject({ name: "renamed", rateLimit: { requests: 50, windowSeconds: 60 } });
    expect((await keyward.keys.disable({ id: apiKey.id })).status).toBe("disabled");
    expect(await keyward.verify({ key })).toMatchObject({ valid: false, code: "DISABLED" });
    expect((await keyward.keys.enable({ id: apiKey.id })).status).toBe("active");
    expect(await keyward.verify({ key, permissions: ["read"] })).toMatchObject({ valid: true, name: "renamed" });
  });

  it("reads usage through the usage namespace", async () => {
    const { apiKey } = await keyward.keys.create({ name: "metered", scopes: ["read"] });
    const series = await keyward.usage.series({ id: apiKey.id, granularity: "hour" });
    expect(series).toMatchObject({ keyId: apiKey.id, granularity: "hour", totals: { requests: expect.any(Number) } });
    expect(series.points.length).toBeGreaterThan(0);
    expect(await keyward.usage.requests({ id: apiKey.id })).toMatchObject({ data: expect.any(Array) });
    await expect(keyward.usage.summary({})).rejects.toMatchObject({ code: "insufficient_scope", status: 403 });
    expect(await adminKeyward.usage.summary({})).toMatchObject({ totals: { requests: expect.any(Number) }, activeKeys: expect.any(Number) });
  });

  it("admins reveal recoverable keys and manage users", async () => {
    const { key, apiKey } = await adminKeyward.keys.create({ name: "recoverable", scopes: ["read"], recoverable: true });
    expect(await adminKeyward.keys.reveal({ id: apiKey.id })).toEqual({ key });
    const users = await adminKeyward.users.list();
    expect(users.map((u) => u.id)).toEqual(expect.arrayContaining([member.id, admin.id]));
    expect(await adminKeyward.users.get({ id: member.id })).toMatchObject({ email: member.email, role: "member" });
  });

  it("the server's refusals arrive as KeywardError with the stable code, status and request id", async () => {
    const notFound = (await keyward.keys.get({ id: "key_00000000000000000000" }).catch((e: unknown) => e)) as KeywardError;
    expect(notFound).toBeInstanceOf(KeywardError);
    expect(notFound).toMatchObject({ code: "not_found", status: 404, procedure: "keys.get" });
    expect(notFound.requestId).toMatch(/^[\w.:-]{8,128}$/);

    await expect(keyward.keys.create({ name: "", scopes: ["read"] })).rejects.toMatchObject({
      code: "validation_failed",
      status: 400,
      fieldErrors: { name: [expect.any(String)] },
    });
    await expect(keyward.users.list()).rejects.toMatchObject({ code: "insufficient_scope", status: 403 });
    await expect(keyward.keys.create({ name: "too much", scopes: ["admin"] })).rejects.toMatchObject({ status: 403 });

    const { key: readOnly } = await keyward.keys.create({ name: "read only", scopes: ["read"] });
    const readOnlyClient = createKeyward({ baseUrl: app.url, apiKey: readOnly });
    await expect(readOnlyClient.keys.create({ name: "x", scopes: ["read"] })).rejects.toMatchObject({ code: "insufficient_scope", status: 403 });

    const { key: doomed, apiKey } = await keyward.keys.create({ name: "doomed", scopes: ["read"] });
    await keyward.keys.revoke({ id: apiKey.id });
    await expect(createKeyward({ baseUrl: app.url, apiKey: doomed }).me()).rejects.toMatchObject({ code: "key_revoked", status: 401 });
  });

  it("an issued key never authenticates: refused when the client is made, and by the server when read late", async () => {
    const api = await app.keyward.apis.create(member.actor, { name: "Door", prefix: "door" });
    const { key } = await app.keyward.keys.createIssued(member.actor, api.id, { permissions: ["admin"] });
    expect(() => createKeyward({ baseUrl: app.url, apiKey: key })).toThrow(new TypeError("this is a key issued for one of your APIs; the SDK client needs a root key (kw_…)"));
    // A function key is read per request, past the constructor's check: the server refuses it itself.
    await expect(createKeyward({ baseUrl: app.url, apiKey: () => key }).keys.list({})).rejects.toMatchObject({ code: "not_a_root_key", status: 403 });
  });

  it("the guard protects a Fetch-API handler with keys of its API, verified by the running app", async () => {
    const api = await app.keyward.apis.create(member.actor, { name: "Partner API", prefix: "partner", permissions: ["orders.read", "orders.write"] });
    const guard = keywardGuard({ client: keyward, apiId: api.id, permissions: ["orders.read"] });
    const handler = async (request: Request) => {
      const auth = await guard(request, { ip: "198.51.100.20" });
      if (!auth.ok) return auth.response;
      return Response.json({ customer: auth.principal.identity?.externalId ?? null, cached: auth.cached });
    };
    const { key, apiKey } = await app.keyward.keys.createIssued(member.actor, api.id, { externalId: "partner-1", permissions: ["orders.read"] });
    const request = (presented = key) => new Request("https://partner-api.example.test/orders", { headers: { Authorization: `Bearer ${presented}` } });

    const first = await handler(request());
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ customer: "partner-1", cached: false });
    expect(await (await handler(request())).json()).toEqual({ customer: "partner-1", cached: true });

    const { key: writeOnly } = await app.keyward.keys.createIssued(member.actor, api.id, { permissions: ["orders.write"] });
    const lacking = await handler(request(writeOnly));
    expect(lacking.status).toBe(403);
    expect(await lacking.json()).toMatchObject({ code: "insufficient_permissions", missing: ["orders.read"] });

    await keyward.keys.revoke({ id: apiKey.id });
    expect(guard.invalidate(apiKey.id)).toBe(1);
    const refused = await handler(request());
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ status: 401, code: "key_revoked" });

    const missing = await handler(new Request("https://partner-api.example.test/orders"));
    expect(missing.status).toBe(401);
    const { key: limited } = await app.keyward.keys.createIssued(member.actor, api.id, { permissions: ["orders.read"], allowedIps: ["203.0.113.0/24"] });
    const elsewhere = await handler(new Request("https://partner-api.example.test/orders", { headers: { "X-API-Key": limited } }));
    expect(elsewhere.status).toBe(403);
    expect(await elsewhere.json()).toMatchObject({ code: "ip_not_allowed" });
  });
});
