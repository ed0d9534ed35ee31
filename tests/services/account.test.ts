import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyActor } from "../../app/services/actor.server";
import { sessionHandle } from "../../app/services/auth.server";
import { ManualClock } from "../../app/services/clock.server";
import { auditEvents, sessions } from "../../db/schema";
import { createUser, TEST_PASSWORD, testKeyward, type TestKeyward } from "../support/keyward";

const clock = new ManualClock(new Date("2026-11-25T09:00:00Z"));
const NEW_PASSWORD = "a much longer new passphrase";
let kw: TestKeyward;

beforeAll(async () => {
  kw = await testKeyward({ clock });
});

afterAll(async () => {
  await kw?.dispose();
});

/** Signs in the way the login route does; returns the session id behind the cookie. */
async function signIn(email: string, password = TEST_PASSWORD, meta: { ip?: string; userAgent?: string } = {}): Promise<string> {
  const { cookie } = await kw.auth.login(email, password, meta);
  return cookie.split(";")[0]!.split("=")[1]!;
}

const isSignedIn = async (sessionId: string) => {
  const request = new Request("http://keyward.test/keys", { headers: { Cookie: `${kw.auth.cookieName}=${sessionId}` } });
  return (await kw.auth.fromRequest(request)) !== null;
};

const auditOf = (targetId: string, action: string) =>
  kw.database.db.select().from(auditEvents).where(and(eq(auditEvents.targetId, targetId), eq(auditEvents.action, action)));

describe("users.changePassword", () => {
  it("refuses a wrong current password as a field error, and changes nothing", async () => {
    const user = await createUser(kw);
    const current = await signIn(user.email);
    const other = await signIn(user.email);
    const error = await kw.users.changePassword(user.actor, { currentPassword: "not my password", newPassword: NEW_PASSWORD }, current).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "validation_failed", details: { field: "currentPassword" }, message: "The current password is not right" });
    expect(await isSignedIn(other)).toBe(true);
    expect(await auditOf(user.id, "user.password_changed")).toHaveLength(0);
    await expect(kw.auth.login(user.email, TEST_PASSWORD)).resolves.toMatchObject({ user: { id: user.id } });
    await expect(kw.auth.login(user.email, NEW_PASSWORD)).rejects.toMatchObject({ code: "invalid_credentials" });
  });

  it("refuses a too-short new password and one equal to the current, per field", async () => {
    const user = await createUser(kw);
    await expect(kw.users.changePassword(user.actor, { currentPassword: TEST_PASSWORD, newPassword: "short" }, null)).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: ["newPassword"] })],
    });
    await expect(kw.users.changePassword(user.actor, { currentPassword: TEST_PASSWORD, newPassword: TEST_PASSWORD }, null)).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: ["newPassword"], message: "Choose a password different from the current one" })],
    });
  });

  it("ends the user's other sessions, keeps the current one and other users' sessions, and audits once without the password", async () => {
    const user = await createUser(kw);
    const bystander = await createUser(kw);
    const current = await signIn(user.email, TEST_PASSWORD, { ip: "198.51.100.7", userAgent: "Firefox" });
    const laptop = await signIn(user.email);
    const phone = await signIn(user.email);
    const theirs = await signIn(bystander.email);

    const result = await kw.users.changePassword(user.actor, { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD }, current);
    expect(result).toEqual({ otherSessionsEnded: 2 });
    expect(await isSignedIn(current)).toBe(true);
    expect(await isSignedIn(laptop)).toBe(false);
    expect(await isSignedIn(phone)).toBe(false);
    expect(await isSignedIn(theirs)).toBe(true);

    await expect(kw.auth.login(user.email, TEST_PASSWORD)).rejects.toMatchObject({ code: "invalid_credentials" });
    await expect(kw.auth.login(user.email, NEW_PASSWORD)).resolves.toMatchObject({ user: { id: user.id } });

    const entries = await auditOf(user.id, "user.password_changed");
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actorType: "user", actorId: user.id, targetType: "user", targetId: user.id, details: { otherSessionsEnded: 2 } });
    const text = JSON.stringify(entries[0]);
    for (const secret of [TEST_PASSWORD, NEW_PASSWORD, current, laptop, phone]) expect(text).not.toContain(secret);
  });

  it("is refused to an API key acting for its owner, with forbidden", async () => {
    const user = await createUser(kw);
    const session = await signIn(user.email);
    const { apiKey } = await kw.keys.create(user.actor, { name: "ci", scopes: ["read", "write"] });
    const viaKey = keyActor({ id: apiKey.id, ownerId: user.id, ownerRole: "member", scopes: ["read", "write"], allowedIps: [], rateLimit: null, expiresAt: null });
    await expect(kw.users.changePassword(viaKey, { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD }, null)).rejects.toMatchObject({ code: "forbidden" });
    expect(await isSignedIn(session)).toBe(true);
    await expect(kw.auth.login(user.email, TEST_PASSWORD)).resolves.toBeTruthy();
  });
});

describe("auth sessions", () => {
  it("lists only the user's unexpired sessions, newest first, by handle and never by id", async () => {
    const user = await createUser(kw);
    const other = await createUser(kw);
    const first = await signIn(user.email, TEST_PASSWORD, { ip: "203.0.113.5", userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0" });
    clock.advance(60_000);
    const second = await signIn(user.email, TEST_PASSWORD, { ip: "2001:db8::1", userAgent: "curl/8.0" });
    await signIn(other.email);
    // An expired session is not listed.
    await kw.database.db.insert(sessions).values({ id: "expiredsessionidexpiredsessionid", userId: user.id, expiresAt: new Date(clock.now().getTime() - 1000) });

    const listed = await kw.auth.listSessions(user.id, second);
    expect(listed).toEqual([
      { handle: sessionHandle(second), createdAt: expect.any(String), expiresAt: expect.any(String), ipAddress: "2001:db8::1", userAgent: "curl/8.0", current: true },
      { handle: sessionHandle(first), createdAt: expect.any(String), expiresAt: expect.any(String), ipAddress: "203.0.113.5", userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0", current: false },
    ]);
    const text = JSON.stringify(listed);
    expect(text).not.toContain(first);
    expect(text).not.toContain(second);
    expect(listed[0]!.handle).toMatch(/^[0-9a-f]{24}$/);
  });

  it("ends one of the user's own sessions by handle, audited as session.ended; another user's handle is not found", async () => {
    const user = await createUser(kw);
    const other = await createUser(kw);
    const current = await signIn(user.email);
    const stale = await signIn(user.email);
    const theirs = await signIn(other.email);

    await expect(kw.auth.endSession(user.actor, sessionHandle(theirs))).rejects.toMatchObject({ code: "not_found" });
    await expect(kw.auth.endSession(user.actor, "not-a-handle")).rejects.toMatchObject({ code: "not_found" });
    expect(await isSignedIn(theirs)).toBe(true);

    await kw.auth.endSession(user.actor, sessionHandle(stale));
    expect(await isSignedIn(stale)).toBe(false);
    expect(await isSignedIn(current)).toBe(true);
    const [entry, ...more] = await auditOf(sessionHandle(stale), "session.ended");
    expect(more).toHaveLength(0);
    expect(entry).toMatchObject({ actorId: user.id, targetType: "session", details: { userId: user.id } });
    expect(JSON.stringify(entry)).not.toContain(stale);

    // Ended is ended: the same handle again is not found.
    await expect(kw.auth.endSession(user.actor, sessionHandle(stale))).rejects.toMatchObject({ code: "not_found" });
  });

  it("ends all other sessions of the user only, keeping the current one", async () => {
    const user = await createUser(kw);
    const other = await createUser(kw);
    const current = await signIn(user.email);
    const a = await signIn(user.email);
    const b = await signIn(user.email);
    const theirs = await signIn(other.email);

    expect(await kw.auth.endOtherSessions(user.actor, current)).toEqual({ ended: 2 });
    expect(await isSignedIn(current)).toBe(true);
    expect(await isSignedIn(a)).toBe(false);
    expect(await isSignedIn(b)).toBe(false);
    expect(await isSignedIn(theirs)).toBe(true);
    expect((await kw.auth.listSessions(user.id, current)).map((s) => s.current)).toEqual([true]);
    expect(await auditOf(sessionHandle(a), "session.ended")).toHaveLength(1);
    expect(await auditOf(sessionHandle(b), "session.ended")).toHaveLength(1);
    expect(await kw.auth.endOtherSessions(user.actor, current)).toEqual({ ended: 0 });
  });

  it("refuses an API key actor ending sessions", async () => {
    const user = await createUser(kw);
    const session = await signIn(user.email);
    const viaKey = keyActor({ id: "key_00000000000000000000", ownerId: user.id, ownerRole: "member", scopes: ["read", "write"], allowedIps: [], rateLimit: null, expiresAt: null });
    await expect(kw.auth.endSession(viaKey, sessionHandle(session))).rejects.toMatchObject({ code: "forbidden" });
    await expect(kw.auth.endOtherSessions(viaKey, "none")).rejects.toMatchObject({ code: "forbidden" });
    expect(await isSignedIn(session)).toBe(true);
  });
});
