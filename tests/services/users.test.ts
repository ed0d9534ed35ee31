import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditEvents, sessions, users } from "../../db/schema";
import { ManualClock } from "../../app/services/clock.server";
import { createUser, system, TEST_PASSWORD, testKeyward, type TestKeyward } from "../support/keyward";

const clock = new ManualClock(new Date("2026-11-25T09:00:00Z"));
let kw: TestKeyward;

beforeAll(async () => {
  kw = await testKeyward({ clock });
});

afterAll(async () => {
  await kw?.dispose();
});

const requestWith = (cookie: string) => new Request("http://keyward.test/keys", { headers: { Cookie: cookie.split(";")[0]! } });
const sessionCount = async (userId: string) => (await kw.database.db.select().from(sessions).where(eq(sessions.userId, userId))).length;

describe("users.create", () => {
  it("creates a user with a lower-cased email and an argon2id hash, audited", async () => {
    const admin = await createUser(kw, "admin");
    const created = await kw.users.create(admin.actor, { email: "  Alice@Example.TEST ", password: TEST_PASSWORD });
    expect(created).toMatchObject({ email: "alice@example.test", role: "member", disabledAt: null });
    expect(created.id).toMatch(/^usr_[0-9A-Za-z]{20}$/);
    expect(Object.keys(created)).not.toContain("passwordHash");
    const [row] = await kw.database.db.select().from(users).where(eq(users.id, created.id));
    expect(row!.passwordHash).toMatch(/^\$argon2id\$/);
    expect(row!.passwordHash).not.toContain(TEST_PASSWORD);
    const [entry] = await kw.database.db.select().from(auditEvents).where(eq(auditEvents.targetId, created.id));
    expect(entry).toMatchObject({ action: "user.created", actorId: admin.id, details: { email: "alice@example.test", role: "member" } });
    expect(JSON.stringify(entry)).not.toContain(TEST_PASSWORD);
  });

  it("refuses a duplicate email, whatever its case, with conflict", async () => {
    await kw.users.create(system, { email: "bob@example.test", password: TEST_PASSWORD });
    await expect(kw.users.create(system, { email: "BOB@example.test", password: TEST_PASSWORD })).rejects.toMatchObject({ code: "conflict" });
  });

  it("is for admins only", async () => {
    const member = await createUser(kw, "member");
    await expect(kw.users.create(member.actor, { email: "carol@example.test", password: TEST_PASSWORD })).rejects.toMatchObject({ code: "forbidden" });
    expect(await kw.users.findByEmail("carol@example.test")).toBeNull();
  });
});

describe("users.setRole", () => {
  it("promotes and demotes, audited with from/to", async () => {
    const admin = await createUser(kw, "admin");
    const user = await createUser(kw, "member");
    expect((await kw.users.setRole(admin.actor, user.id, "admin")).role).toBe("admin");
    expect((await kw.users.setRole(admin.actor, user.id, "member")).role).toBe("member");
    const entries = await kw.database.db.select().from(auditEvents).where(eq(auditEvents.targetId, user.id));
    const changes = entries.filter((e) => e.action === "user.role_changed").map((e) => e.details);
    expect(changes).toHaveLength(2);
    expect(changes).toEqual(expect.arrayContaining([{ from: "member", to: "admin" }, { from: "admin", to: "member" }]));
  });

  it("refuses a member, and an admin demoting themselves", async () => {
    const admin = await createUser(kw, "admin");
    const member = await createUser(kw, "member");
    await expect(kw.users.setRole(member.actor, member.id, "admin")).rejects.toMatchObject({ code: "forbidden" });
    await expect(kw.users.setRole(admin.actor, admin.id, "member")).rejects.toMatchObject({ code: "invalid_state" });
    expect((await kw.users.get(system, admin.id)).role).toBe("admin");
  });
});

describe("auth.login", () => {
  it("accepts the email in any case, and refuses a wrong password or unknown email alike", async () => {
    const user = await createUser(kw, "member");
    const { user: signedIn, cookie } = await kw.auth.login(`  ${user.email.toUpperCase()} `, TEST_PASSWORD);
    expect(signedIn).toEqual({ id: user.id, email: user.email, role: "member" });
    expect(cookie).toMatch(/^keyward_session=[a-z0-9]+;/);
    const wrong = await kw.auth.login(user.email, `${TEST_PASSWORD}!`).catch((error: unknown) => error);
    const unknown = await kw.auth.login("nobody@example.test", TEST_PASSWORD).catch((error: unknown) => error);
    expect(wrong).toMatchObject({ code: "invalid_credentials" });
    expect(unknown).toMatchObject({ code: "invalid_credentials", message: (wrong as Error).message });
  });
});

describe("users.disable", () => {
  it("ends every session of the user and blocks login until enabled again", async () => {
    const admin = await createUser(kw, "admin");
    const user = await createUser(kw, "member");
    const first = await kw.auth.login(user.email, TEST_PASSWORD);
    const second = await kw.auth.login(user.email, TEST_PASSWORD);
    expect(await kw.auth.fromRequest(requestWith(first.cookie))).toMatchObject({ user: { id: user.id } });
    expect(await sessionCount(user.id)).toBe(2);

    const disabled = await kw.users.disable(admin.actor, user.id);
    expect(disabled.disabledAt).toBe(clock.now().toISOString());
    expect(await sessionCount(user.id)).toBe(0);
    expect(await kw.auth.fromRequest(requestWith(first.cookie))).toBeNull();
    expect(await kw.auth.fromRequest(requestWith(second.cookie))).toBeNull();
    await expect(kw.auth.login(user.email, TEST_PASSWORD)).rejects.toMatchObject({ code: "invalid_credentials" });

    await kw.users.enable(admin.actor, user.id);
    const again = await kw.auth.login(user.email, TEST_PASSWORD);
    expect(await kw.auth.fromRequest(requestWith(again.cookie))).toMatchObject({ user: { id: user.id } });
    // The sessions ended by the disable stay ended.
    expect(await kw.auth.fromRequest(requestWith(first.cookie))).toBeNull();
  });

  it("refuses disabling yourself, and members doing it at all", async () => {
    const admin = await createUser(kw, "admin");
    const member = await createUser(kw, "member");
    await expect(kw.users.disable(admin.actor, admin.id)).rejects.toMatchObject({ code: "invalid_state" });
    await expect(kw.users.disable(member.actor, admin.id)).rejects.toMatchObject({ code: "forbidden" });
    expect((await kw.users.get(system, admin.id)).disabledAt).toBeNull();
  });
});

describe("last admin protections", () => {
  it("never demotes or disables the last active admin (a disabled admin does not count)", async () => {
    const only = await createUser(kw, "admin");
    // Leave `only` as the single active admin (the other tests made some).
    for (const user of await kw.users.list(system)) {
      if (user.role === "admin" && user.id !== only.id) await kw.users.setRole(system, user.id, "member");
    }
    await expect(kw.users.setRole(system, only.id, "member")).rejects.toMatchObject({ code: "invalid_state" });
    await expect(kw.users.disable(system, only.id)).rejects.toMatchObject({ code: "invalid_state" });

    const second = await createUser(kw, "admin");
    await kw.users.disable(only.actor, second.id);
    await expect(kw.users.setRole(system, only.id, "member")).rejects.toMatchObject({ code: "invalid_state" });
    await expect(kw.users.disable(system, only.id)).rejects.toMatchObject({ code: "invalid_state" });

    await kw.users.enable(only.actor, second.id);
    expect((await kw.users.setRole(second.actor, only.id, "member")).role).toBe("member");
    await expect(kw.users.setRole(system, second.id, "member")).rejects.toMatchObject({ code: "invalid_state" });

    // Bug fixed in app/services/users.server.ts: two admins demoting each other at the same moment
    // (Postgres, two connections) both passed the last-admin check and left no admin at all.
    const third = await createUser(kw, "admin");
    const activeAdmins = async () => (await kw.users.list(system)).filter((user) => user.role === "admin" && !user.disabledAt);
    const demotions = await Promise.allSettled([
      kw.users.setRole(second.actor, third.id, "member"),
      kw.users.setRole(third.actor, second.id, "member"),
    ]);
    expect((await activeAdmins()).length, JSON.stringify(demotions.map((r) => r.status))).toBe(1);
    expect(demotions.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = demotions.find((r) => r.status === "rejected");
    expect(refused?.status === "rejected" && refused.reason).toMatchObject({ code: "invalid_state" });

    // The same race with disable.
    const [survivor] = await activeAdmins();
    const survivorActor = survivor!.id === second.id ? second.actor : third.actor;
    const fourth = await createUser(kw, "admin");
    const disables = await Promise.allSettled([kw.users.disable(survivorActor, fourth.id), kw.users.disable(fourth.actor, survivor!.id)]);
    expect((await activeAdmins()).length, JSON.stringify(disables.map((r) => r.status))).toBe(1);
    expect(disables.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  });
});
