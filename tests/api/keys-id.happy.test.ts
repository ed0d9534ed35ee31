import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, keyState, setup, type Fixture } from "./support";

type Key = Record<string, unknown> & { id: string; status: string };

describe("/api/v1/keys/{id}", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  it("GET returns the owner's key; an admin sees anyone's", async () => {
    const { apiKey } = await f.createKey(f.member.id, { name: "mine" });
    const own = await call<Key>(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberReadKey });
    expect(own.status).toBe(200);
    expect(own.body).toEqual(apiKey);
    const asAdmin = await call<Key>(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.adminKey });
    expect(asAdmin.body.id).toBe(apiKey.id);
  });

  it("PATCH changes only the fields given", async () => {
    const { apiKey } = await f.createKey(f.member.id, { name: "before", metadata: { a: 1 } });
    const expiresAt = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const response = await call<Key>(f.app, `/api/v1/keys/${apiKey.id}`, {
      key: f.memberKey,
      method: "PATCH",
      body: {
        name: "after",
        description: "changed",
        scopes: ["read"],
        allowedIps: ["192.168.0.0/16", "127.0.0.1"],
        rateLimit: { requests: 5, windowSeconds: 1 },
        expiresAt,
        metadata: { b: 2 },
      },
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id: apiKey.id,
      name: "after",
      description: "changed",
      scopes: ["read"],
      allowedIps: ["192.168.0.0/16", "127.0.0.1"],
      rateLimit: { requests: 5, windowSeconds: 1 },
      expiresAt,
      metadata: { b: 2 },
      status: "active",
    });
    expect(await keyState(f.app, apiKey.id)).toMatchObject({ name: "after", metadata: { b: 2 } });

    const cleared = await call<Key>(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey, method: "PATCH", body: { rateLimit: null, expiresAt: null } });
    expect(cleared.body).toMatchObject({ name: "after", rateLimit: null, expiresAt: null });
  });

  it("PATCH disabled: true disables the key and false enables it again", async () => {
    const { key, apiKey } = await f.createKey(f.member.id);
    const disabled = await call<Key>(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey, method: "PATCH", body: { disabled: true } });
    expect(disabled.body).toMatchObject({ status: "disabled" });
    expect(disabled.body.disabledAt).toEqual(expect.any(String));
    expect((await call(f.app, "/api/v1/me", { key })).body.code).toBe("key_disabled");
    const enabled = await call<Key>(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey, method: "PATCH", body: { disabled: false } });
    expect(enabled.body).toMatchObject({ status: "active", disabledAt: null });
    expect((await call(f.app, "/api/v1/me", { key })).status).toBe(200);
  });

  it("DELETE revokes (200, status revoked) and is idempotent", async () => {
    const { key, apiKey } = await f.createKey(f.member.id);
    const first = await call<Key>(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey, method: "DELETE" });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: apiKey.id, status: "revoked" });
    expect(first.body.revokedAt).toEqual(expect.any(String));
    const again = await call<Key>(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey, method: "DELETE" });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: "revoked", revokedAt: first.body.revokedAt });
    expect((await call(f.app, "/api/v1/me", { key })).body.code).toBe("key_revoked");
  });

  it("a key may revoke itself", async () => {
    const { key, apiKey } = await f.createKey(f.member.id);
    expect((await call<Key>(f.app, `/api/v1/keys/${apiKey.id}`, { key, method: "DELETE" })).body.status).toBe("revoked");
    expect((await call(f.app, "/api/v1/me", { key })).status).toBe(401);
  });
});
