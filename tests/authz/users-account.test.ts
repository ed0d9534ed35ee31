import { TRPCError, type TRPC_ERROR_CODE_KEY } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestMeta } from "../../app/lib/request.server";
import { sessionActor } from "../../app/services/actor.server";
import { sessionHandle } from "../../app/services/auth.server";
import { ManualClock } from "../../app/services/clock.server";
import type { ErrorCode } from "../../app/services/errors.server";
import { createCaller } from "../../app/trpc/root.server";
import { createContext } from "../../app/trpc/trpc.server";
import { createUser, system, TEST_PASSWORD, testKeyward, type TestKeyward } from "../support/keyward";

const ORIGIN = "http://keyward.test";
const NEW_PASSWORD = "another long passphrase";
const clock = new ManualClock(new Date("2026-11-25T09:00:00Z"));
let kw: TestKeyward;
type User = Awaited<ReturnType<typeof createUser>>;
type Caller = ReturnType<typeof createCaller>;

beforeAll(async () => {
  kw = await testKeyward({ clock });
});

afterAll(async () => {
  await kw?.dispose();
});

/** Signs in (a real session row) and returns the cookie name=value. */
async function signIn(user: User, password = TEST_PASSWORD): Promise<string> {
  const { cookie } = await kw.auth.login(user.email, password);
  return cookie.split(";")[0]!;
}

const sessionIdOf = (cookie: string) => cookie.split("=")[1]!;

/** The caller a dashboard loader gets (app/session.server.ts): the cookie's session is the actor. */
async function sessionCaller(cookie: string, origin = ORIGIN, clientIp = "127.0.0.1"): Promise<Caller> {
  const request = new Request(`${ORIGIN}/account`, { method: "POST", headers: { Cookie: cookie, Origin: origin } });
  const session = await kw.auth.fromRequest(request);
  const actor = session ? sessionActor(session.user, requestMeta(request, clientIp, "req-session")) : null;
  return createCaller({ keyward: kw, request, actor, viaCookie: Boolean(session), authFailure: null });
}

/** The caller the tRPC route builds for a request with `Authorization: Bearer <key>` (and, here, a valid session cookie too). */
async function keyCaller(key: string, cookie?: string): Promise<Caller> {
  const headers: Record<string, string> = { Authorization: `Bearer ${key}`, Origin: ORIGIN };
  if (cookie) headers.Cookie = cookie;
  const request = new Request(`${ORIGIN}/api/trpc/account.changePassword`, { method: "POST", headers });
  return createCaller(await createContext({ keyward: kw, request, clientIp: "127.0.0.1", requestId: "req-key" }));
}

async function expectError(call: Promise<unknown>, code: TRPC_ERROR_CODE_KEY, keywardCode?: ErrorCode): Promise<TRPCError> {
  const error = await call.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(TRPCError);
  const trpcError = error as TRPCError;
  expect(trpcError.code).toBe(code);
  if (keywardCode) expect((trpcError.cause as { code?: string } | undefined)?.code).toBe(keywardCode);
  return trpcError;
}

const canSignIn = (user: User, password: string) => kw.auth.login(user.email, password).then(
  () => true,
  () => false,
);

describe("users.* admin procedures", () => {
  it("are closed to a member, and change nothing", async () => {
    const admin = await createUser(kw, "admin");
    const member = await createUser(kw, "member");
    const caller = await sessionCaller(await signIn(member));
    await expectError(caller.users.list(), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.users.get({ id: admin.id }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.users.create({ email: "sneaky@example.test", password: TEST_PASSWORD, role: "admin" }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.users.setRole({ id: member.id, role: "admin" }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.users.disable({ id: admin.id }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.users.enable({ id: admin.id }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.users.keys({ id: admin.id }), "FORBIDDEN", "insufficient_scope");
    expect(await kw.users.findByEmail("sneaky@example.test")).toBeNull();
    expect(await kw.users.get(system, member.id)).toMatchObject({ role: "member", disabledAt: null });
    expect(await kw.users.get(system, admin.id)).toMatchObject({ role: "admin", disabledAt: null });
  });

  it("give an admin a user's keys (and NOT_FOUND for an unknown user)", async () => {
    const admin = await createUser(kw, "admin");
    const member = await createUser(kw, "member");
    const other = await createUser(kw, "member");
    const { apiKey } = await kw.keys.create(member.actor, { name: "member's key", scopes: ["read"] });
    await kw.keys.create(other.actor, { name: "someone else's", scopes: ["read"] });
    const caller = await sessionCaller(await signIn(admin));
    const page = await caller.users.keys({ id: member.id });
    expect(page.data.map((key) => key.id)).toEqual([apiKey.id]);
    expect(JSON.stringify(page)).not.toMatch(/digest|ciphertext/i);
    await expectError(caller.users.keys({ id: "usr_00000000000000000000" }), "NOT_FOUND", "not_found");
  });

  it("never demote or disable the last active admin, even when two admins race", async () => {
    // A database of its own, so "the last admin" is exact.
    const own = await testKeyward({ clock });
    try {
      const first = await own.users.create(system, { email: "first@example.test", password: TEST_PASSWORD, role: "admin" });
      const second = await own.users.create(system, { email: "second@example.test", password: TEST_PASSWORD, role: "admin" });
      const callerOf = async (email: string) => {
        const { cookie } = await own.auth.login(email, TEST_PASSWORD);
        const request = new Request(`${ORIGIN}/users`, { method: "POST", headers: { Cookie: cookie.split(";")[0]!, Origin: ORIGIN } });
        const session = await own.auth.fromRequest(request);
        return createCaller({ keyward: own, request, actor: sessionActor(session!.user), viaCookie: true, authFailure: null });
      };
      const a = await callerOf(first.email);
      const b = await callerOf(second.email);
      const results = await Promise.allSettled([a.users.setRole({ id: second.id, role: "member" }), b.users.setRole({ id: first.id, role: "member" })]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(refused.reason).toBeInstanceOf(TRPCError);
      expect(refused.reason).toMatchObject({ code: "CONFLICT", cause: { code: "invalid_state" } });

      const admins = (await own.users.list(system)).filter((u) => u.role === "admin" && !u.disabledAt);
      expect(admins).toHaveLength(1);
      const last = admins[0]!;
      const lastCaller = last.id === first.id ? a : b;
      await expectError(lastCaller.users.setRole({ id: last.id, role: "member" }), "CONFLICT", "invalid_state");
      await expectError(lastCaller.users.disable({ id: last.id }), "CONFLICT", "invalid_state");
      expect(await own.users.get(system, last.id)).toMatchObject({ role: "admin", disabledAt: null });
    } finally {
      await own.dispose();
    }
  });
});

describe("account.* procedures", () => {
  it("refuse an API key, even an admin-scoped one sent with its owner's session cookie, with 403", async () => {
    const admin = await createUser(kw, "admin");
    const cookie = await signIn(admin);
    const other = await signIn(admin);
    const { key } = await kw.keys.create(admin.actor, { name: "ops", scopes: ["admin"] });
    for (const caller of [await keyCaller(key), await keyCaller(key, cookie)]) {
      await expectError(caller.account.changePassword({ currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD }), "FORBIDDEN", "forbidden");
      await expectError(caller.account.sessions(), "FORBIDDEN", "forbidden");
      await expectError(caller.account.endSession({ handle: sessionHandle(sessionIdOf(other)) }), "FORBIDDEN", "forbidden");
      await expectError(caller.account.endOtherSessions(), "FORBIDDEN", "forbidden");
    }
    expect(await canSignIn(admin, TEST_PASSWORD)).toBe(true);
    expect(await kw.auth.fromRequest(new Request(ORIGIN, { headers: { Cookie: other } }))).not.toBeNull();
  });

  it("change the password of the session's user, keeping that session and ending the others", async () => {
    const member = await createUser(kw, "member");
    const cookie = await signIn(member);
    const elsewhere = await signIn(member);
    const caller = await sessionCaller(cookie);
    const wrong = await expectError(caller.account.changePassword({ currentPassword: "wrong password", newPassword: NEW_PASSWORD }), "UNPROCESSABLE_CONTENT", "validation_failed");
    expect(wrong.message).toBe("The current password is not right");
    expect(await caller.account.changePassword({ currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD })).toEqual({ otherSessionsEnded: 1 });
    expect(await kw.auth.fromRequest(new Request(ORIGIN, { headers: { Cookie: cookie } }))).not.toBeNull();
    expect(await kw.auth.fromRequest(new Request(ORIGIN, { headers: { Cookie: elsewhere } }))).toBeNull();
    expect(await canSignIn(member, NEW_PASSWORD)).toBe(true);
  });

  it("refuse a cross-site password change (CSRF) and throttle guessing at the current password", async () => {
    const member = await createUser(kw, "member");
    const cookie = await signIn(member);
    const crossSite = await sessionCaller(cookie, "https://evil.example");
    await expectError(crossSite.account.changePassword({ currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD }), "FORBIDDEN", "csrf_rejected");
    expect(await canSignIn(member, TEST_PASSWORD)).toBe(true);

    // An address of its own, so the other tests' wrong guesses do not count here.
    const caller = await sessionCaller(cookie, ORIGIN, "192.0.2.44");
    const limit = kw.loginFailures.accountFromAddressLimit;
    for (let i = 0; i < limit; i++) {
      await expectError(caller.account.changePassword({ currentPassword: `guess ${i}`, newPassword: NEW_PASSWORD }), "UNPROCESSABLE_CONTENT", "validation_failed");
    }
    // Now even the right password is refused until the window passes: guesses cannot continue.
    await expectError(caller.account.changePassword({ currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD }), "TOO_MANY_REQUESTS", "too_many_failures");
    expect(await canSignIn(member, NEW_PASSWORD)).toBe(false);
    clock.advance(kw.config.rateLimits.failedAuth.windowSeconds * 1000 + 1000);
  });

  it("list and end only the caller's own sessions", async () => {
    const member = await createUser(kw, "member");
    const other = await createUser(kw, "member");
    const cookie = await signIn(member);
    const second = await signIn(member);
    const theirs = await signIn(other);
    const caller = await sessionCaller(cookie);

    const listed = await caller.account.sessions();
    expect(listed.map((s) => s.handle).sort()).toEqual([sessionHandle(sessionIdOf(cookie)), sessionHandle(sessionIdOf(second))].sort());
    expect(listed.find((s) => s.current)?.handle).toBe(sessionHandle(sessionIdOf(cookie)));
    expect(JSON.stringify(listed)).not.toContain(sessionIdOf(cookie));

    await expectError(caller.account.endSession({ handle: sessionHandle(sessionIdOf(theirs)) }), "NOT_FOUND", "not_found");
    await expectError(caller.account.endSession({ handle: "../../etc" }), "BAD_REQUEST");
    expect(await kw.auth.fromRequest(new Request(ORIGIN, { headers: { Cookie: theirs } }))).not.toBeNull();

    expect(await caller.account.endSession({ handle: sessionHandle(sessionIdOf(second)) })).toEqual({ ended: 1 });
    expect(await kw.auth.fromRequest(new Request(ORIGIN, { headers: { Cookie: second } }))).toBeNull();
    await signIn(member);
    expect(await caller.account.endOtherSessions()).toEqual({ ended: 1 });
    expect((await caller.account.sessions()).map((s) => s.current)).toEqual([true]);
  });
});
