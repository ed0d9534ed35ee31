import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system } from "../support/keyward";
import { call, expectProblem, setup, type Fixture } from "./support";

describe("/api/v1/users security", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  it("needs the admin scope: a member's key, a write key and no key are refused, and nothing changes", async () => {
    const adminWriteKey = (await f.createKey(f.admin.id, { name: "admin write key", scopes: ["read", "write"] })).key;
    for (const key of [f.memberKey, f.memberReadKey, adminWriteKey]) {
      expectProblem(await call(f.app, "/api/v1/users", { key }), 403, "insufficient_scope");
      expectProblem(await call(f.app, "/api/v1/users", { key, method: "POST", body: { email: "intruder@example.test", password: "a long enough password", role: "admin" } }), 403, "insufficient_scope");
      expectProblem(await call(f.app, `/api/v1/users/${f.member.id}`, { key, method: "PATCH", body: { role: "admin" } }), 403, "insufficient_scope");
      expectProblem(await call(f.app, `/api/v1/users/${f.admin.id}/reset-password`, { key, method: "POST" }), 403, "insufficient_scope");
    }
    expectProblem(await call(f.app, "/api/v1/users"), 401, "missing_credentials");
    expect(await f.app.keyward.users.findByEmail("intruder@example.test")).toBeNull();
    expect(await f.app.keyward.users.get(system, f.member.id)).toMatchObject({ role: "member" });
  });

  it("an admin's key cannot disable, demote or reset the password of its own owner", async () => {
    const self = `/api/v1/users/${f.admin.id}`;
    expectProblem(await call(f.app, self, { key: f.adminKey, method: "PATCH", body: { disabled: true } }), 409, "invalid_state");
    expectProblem(await call(f.app, self, { key: f.adminKey, method: "PATCH", body: { role: "member" } }), 409, "invalid_state");
    const reset = await call(f.app, `${self}/reset-password`, { key: f.adminKey, method: "POST", body: { password: "taken over by a leaked key" } });
    expectProblem(reset, 409, "invalid_state");
    await expect(f.app.keyward.auth.login(f.admin.email, "taken over by a leaked key")).rejects.toMatchObject({ code: "invalid_credentials" });
    expect(await f.app.keyward.users.get(system, f.admin.id)).toMatchObject({ role: "admin", disabledAt: null });
  });

  it("never sends a password hash, and a reset password appears only in its own response", async () => {
    const list = await call(f.app, "/api/v1/users", { key: f.adminKey });
    expect(list.text).not.toMatch(/argon2|passwordHash/i);
    const reset = await call<{ password: string }>(f.app, `/api/v1/users/${f.member.id}/reset-password`, { key: f.adminKey, method: "POST" });
    expect(reset.status).toBe(200);
    expect(reset.headers.get("cache-control")).toBe("no-store");
    const after = await call(f.app, `/api/v1/users/${f.member.id}`, { key: f.adminKey });
    expect(after.text).not.toContain(reset.body.password);
  });
});
