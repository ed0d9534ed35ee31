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

  it("create → list → verify → rotate → revoke, through the SDK only", async () => {
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

    expect(await keyward.verify({ key: created.key, scope: "read" })).toEqual({
      valid: true,
      code: "VALID",
      keyId: created.apiKey.id,
      ownerId: member.id,
      name: "billing worker",
      scopes: ["read"],
      expiresAt: created.apiKey.expiresAt,
      meta: { team: "billing" },
    });
    expect(await keyward.verify({ key: created.key, scope: "write" })).toMatchObject({ valid: false, code: "INSUFFICIENT_SCOPE" });

    const rotated = await keyward.keys.rotate({ id: created.apiKey.id, gracePeriodSeconds: 3_600 });
    expect(rotated.key).not.toBe(created.key);
    expect(rotated.apiKey.rotatedFrom).toBe(created.apiKey.id);
    expect(rotated.previous.id).toBe(created.apiKey.id);
    expect(await keyward.verify({ key: rotated.key })).toMatchObject({ valid: true, keyId: rotated.apiKey.id });
    // Within the grace period the old key still works.
    expect(await keyward.verify({ key: created.key })).toMatchObject({ valid: true, keyId: created.apiKey.id });

    const revoked = await keyward.keys.revoke({ id: rotated.apiKey.id });
    expect(revoked.status).toBe("revoked");
    expect(await keyward.verify({ key: rotated.key })).toMatchObject({ valid: false, code: "REVOKED", keyId: rotated.apiKey.id });
    expect((await keyward.keys.list({ status: "revoked" })).data.map((k) => k.id)).toContain(rotated.apiKey.id);
  });

  it("update, disable and enable", async () => {
    const { key, apiKey } = await keyward.keys.create({ name: "temp", scopes: ["read"] });
    expect(await keyward.keys.update({ id: apiKey.id, name: "renamed", rateLimit: { requests: 50, windowSeconds: 60 } })).toMatchObject({ name: "renamed", rateLimit: { requests: 50, windowSeconds: 60 } });
    expect((await keyward.keys.disable({ id: apiKey.id })).status).toBe("disabled");
    expect(await keyward.verify({ key })).toMatchObject({ valid: false, code: "DISABLED" });
    expect((await keyward.keys.enable({ id: apiKey.id })).status).toBe("active");
    expect(await keyward.verify({ key })).toMatchObject({ valid: true });
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

  it("the guard protects a Fetch-API handler with keys verified by the running app", async () => {
    const guard = keywardGuard({ client: keyward, scope: "read" });
    const handler = async (request: Request) => {
      const auth = await guard(request, { ip: "198.51.100.20" });
      if (!auth.ok) return auth.response;
      return Response.json({ owner: auth.principal.ownerId, cached: auth.cached });
    };
    const { key, apiKey } = await keyward.keys.create({ name: "partner", scopes: ["read"] });
    const request = () => new Request("https://partner-api.example.test/orders", { headers: { Authorization: `Bearer ${key}` } });

    const first = await handler(request());
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ owner: member.id, cached: false });
    expect(await (await handler(request())).json()).toEqual({ owner: member.id, cached: true });

    await keyward.keys.revoke({ id: apiKey.id });
    expect(guard.invalidate(apiKey.id)).toBe(1);
    const refused = await handler(request());
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ status: 401, code: "key_revoked" });

    const missing = await handler(new Request("https://partner-api.example.test/orders"));
    expect(missing.status).toBe(401);
    const { key: limited } = await keyward.keys.create({ name: "allowlisted", scopes: ["read"], allowedIps: ["203.0.113.0/24"] });
    const elsewhere = await handler(new Request("https://partner-api.example.test/orders", { headers: { "X-API-Key": limited } }));
    expect(elsewhere.status).toBe(403);
    expect(await elsewhere.json()).toMatchObject({ code: "ip_not_allowed" });
  });
});
