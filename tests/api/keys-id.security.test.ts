import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditEvents } from "../../db/schema";
import { system } from "../support/keyward";
import { call, expectProblem, keyState, setup, type Fixture } from "./support";

describe("/api/v1/keys/{id} security", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  it("IDOR: a member's key gets 404 on another owner's key for GET, PATCH, DELETE and rotate, and changes nothing", async () => {
    const { apiKey } = await f.createKey(f.other.id, { name: "theirs" });
    const before = await keyState(f.app, apiKey.id);
    const attempts = [
      call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey }),
      call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey, method: "PATCH", body: { name: "mine now", disabled: true } }),
      call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey, method: "DELETE" }),
      call(f.app, `/api/v1/keys/${apiKey.id}/rotate`, { key: f.memberKey, method: "POST", body: { gracePeriodSeconds: 60 } }),
    ];
    for (const response of await Promise.all(attempts)) expectProblem(response, 404, "not_found");
    // The 404 is the same one an id that does not exist gets.
    const missing = await call(f.app, "/api/v1/keys/key_00000000000000000000", { key: f.memberKey });
    const hidden = await call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey });
    expect(hidden.body.detail).toBe(missing.body.detail);
    expect(await keyState(f.app, apiKey.id)).toEqual(before);
  });

  it("refuses scope escalation on PATCH (403 insufficient_scope), leaving the key as it was", async () => {
    const { apiKey } = await f.createKey(f.member.id, { scopes: ["read"] });
    const before = await keyState(f.app, apiKey.id);
    const response = await call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey, method: "PATCH", body: { scopes: ["admin"] } });
    expectProblem(response, 403, "insufficient_scope");
    // An admin user's write key cannot raise one of its keys to admin either.
    const { key: adminWriteKey } = await f.createKey(f.admin.id, { scopes: ["write"] });
    const { apiKey: adminsKey } = await f.createKey(f.admin.id, { scopes: ["read"] });
    expectProblem(await call(f.app, `/api/v1/keys/${adminsKey.id}`, { key: adminWriteKey, method: "PATCH", body: { scopes: ["read", "admin"] } }), 403, "insufficient_scope");
    // Nor edit a key that already holds more than it does.
    const { apiKey: adminScoped } = await f.createKey(f.admin.id, { scopes: ["admin"] });
    expectProblem(await call(f.app, `/api/v1/keys/${adminScoped.id}`, { key: adminWriteKey, method: "PATCH", body: { name: "renamed" } }), 403, "insufficient_scope");
    expect(await keyState(f.app, apiKey.id)).toEqual(before);
    expect((await keyState(f.app, adminsKey.id)).scopes).toEqual(["read"]);
    expect((await keyState(f.app, adminScoped.id)).name).toBe("test key");
  });

  it("a PATCH racing a DELETE never resurrects the revoked key", async () => {
    const rounds = 15;
    for (let i = 0; i < rounds; i++) {
      const { key, apiKey } = await f.createKey(f.member.id, { name: `race-${i}` });
      const path = `/api/v1/keys/${apiKey.id}`;
      const [patch, del] = await Promise.all([
        call(f.app, path, { key: f.memberKey, method: "PATCH", body: { name: `patched-${i}`, disabled: false, expiresAt: null } }),
        call(f.app, path, { key: f.memberKey, method: "DELETE" }),
      ]);
      expect(del.status).toBe(200);
      expect([200, 409]).toContain(patch.status);
      const after = await keyState(f.app, apiKey.id);
      expect(after.status).toBe("revoked");
      expect(after.revokedAt).not.toBeNull();
      expect((await call(f.app, "/api/v1/me", { key })).body.code).toBe("key_revoked");
      // A later PATCH cannot touch it either.
      expectProblem(await call(f.app, path, { key: f.memberKey, method: "PATCH", body: { name: "late" } }), 409, "invalid_state");
      // Exactly the writes that were acknowledged happened: an update only if its PATCH said 200.
      const audit = await f.app.keyward.database.db.select().from(auditEvents).where(eq(auditEvents.targetId, apiKey.id));
      expect(audit.filter((row) => row.action === "key.updated")).toHaveLength(patch.status === 200 ? 1 : 0);
      expect(after.name).toBe(patch.status === 200 ? `patched-${i}` : `race-${i}`);
    }
  });

  it("an admin key may manage any owner's key", async () => {
    const { apiKey } = await f.createKey(f.other.id);
    const response = await call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.adminKey, method: "PATCH", body: { name: "by admin" } });
    expect(response.status).toBe(200);
    expect((await f.app.keyward.keys.get(system, apiKey.id)).name).toBe("by admin");
  });
});
