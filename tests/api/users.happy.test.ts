import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system } from "../support/keyward";
import { call, setup, type Fixture } from "./support";

interface User {
  id: string;
  email: string;
  role: string;
  disabledAt: string | null;
  createdAt: string;
}

describe("/api/v1/users (admin user management over REST)", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  const auditOf = async (targetId: string) =>
    (await f.app.keyward.audit.list(system, { targetId, action: "user.*", limit: 50 })).data.map((entry) => ({ action: entry.action, actorType: entry.actorType, details: entry.details, actorKeyId: entry.actorKeyId }));

  it("creates, lists, gets, changes role and status, and resets the password; each change audited with the acting key", async () => {
    const created = await call<User>(f.app, "/api/v1/users", { key: f.adminKey, method: "POST", body: { email: "New.Hire@Example.test", password: "a long first password", role: "member" } });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ email: "new.hire@example.test", role: "member", disabledAt: null });
    expect(created.text).not.toMatch(/password|argon2/i);
    const { id } = created.body;

    const list = await call<{ data: User[] }>(f.app, "/api/v1/users", { key: f.adminKey });
    expect(list.status).toBe(200);
    expect(list.body.data.map((user) => user.email)).toContain("new.hire@example.test");
    expect((await call<User>(f.app, `/api/v1/users/${id}`, { key: f.adminKey })).body).toEqual(created.body);

    const promoted = await call<User>(f.app, `/api/v1/users/${id}`, { key: f.adminKey, method: "PATCH", body: { role: "admin" } });
    expect(promoted.status, promoted.text).toBe(200);
    expect(promoted.body.role).toBe("admin");

    const disabled = await call<User>(f.app, `/api/v1/users/${id}`, { key: f.adminKey, method: "PATCH", body: { role: "member", disabled: true } });
    expect(disabled.status, disabled.text).toBe(200);
    expect(disabled.body).toMatchObject({ role: "member", disabledAt: expect.any(String) });
    await expect(f.app.keyward.auth.login("new.hire@example.test", "a long first password")).rejects.toMatchObject({ code: "invalid_credentials" });

    const enabled = await call<User>(f.app, `/api/v1/users/${id}`, { key: f.adminKey, method: "PATCH", body: { disabled: false } });
    expect(enabled.body.disabledAt).toBeNull();
    await expect(f.app.keyward.auth.login("new.hire@example.test", "a long first password")).resolves.toMatchObject({ user: { id } });

    const generated = await call<{ user: User; password: string; generated: boolean }>(f.app, `/api/v1/users/${id}/reset-password`, { key: f.adminKey, method: "POST" });
    expect(generated.status, generated.text).toBe(200);
    expect(generated.body).toMatchObject({ user: { id }, generated: true });
    expect(generated.body.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    await expect(f.app.keyward.auth.login("new.hire@example.test", "a long first password")).rejects.toMatchObject({ code: "invalid_credentials" });
    await expect(f.app.keyward.auth.login("new.hire@example.test", generated.body.password)).resolves.toMatchObject({ user: { id } });

    const chosen = await call<{ password: string; generated: boolean }>(f.app, `/api/v1/users/${id}/reset-password`, { key: f.adminKey, method: "POST", body: { password: "a password I chose myself" } });
    expect(chosen.body).toMatchObject({ password: "a password I chose myself", generated: false });
    await expect(f.app.keyward.auth.login("new.hire@example.test", "a password I chose myself")).resolves.toMatchObject({ user: { id } });

    const trail = await auditOf(id);
    // Sorted: entries written within the same millisecond have no defined order.
    expect(trail.map((entry) => entry.action).sort()).toEqual([
      "user.password_reset",
      "user.password_reset",
      "user.enabled",
      "user.disabled",
      "user.role_changed",
      "user.role_changed",
      "user.created",
    ].sort());
    expect(new Set(trail.map((entry) => entry.actorType))).toEqual(new Set(["api_key"]));
    expect(new Set(trail.map((entry) => entry.actorKeyId))).toEqual(new Set([expect.stringMatching(/^key_/)]));
    expect(trail.filter((entry) => entry.action === "user.password_reset").map((entry) => entry.details.generated).sort()).toEqual([false, true]);
    expect(JSON.stringify(trail)).not.toContain(generated.body.password);
    expect(JSON.stringify(trail)).not.toContain("a password I chose myself");
  });

  it("a PATCH that changes nothing records nothing", async () => {
    const user = await f.app.keyward.users.create(system, { email: "steady@example.test", password: "a long steady password" });
    const same = await call<User>(f.app, `/api/v1/users/${user.id}`, { key: f.adminKey, method: "PATCH", body: { role: "member", disabled: false } });
    expect(same.status).toBe(200);
    expect((await auditOf(user.id)).map((entry) => entry.action)).toEqual(["user.created"]);
  });
});
