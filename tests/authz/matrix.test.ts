import { TRPCError, type TRPC_ERROR_CODE_KEY } from "@trpc/server";
import { ZodError } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKey } from "../../app/lib/key-format";
import { requestMeta } from "../../app/lib/request.server";
import { sessionActor } from "../../app/services/actor.server";
import { ManualClock } from "../../app/services/clock.server";
import type { ErrorCode } from "../../app/services/errors.server";
import { createCaller } from "../../app/trpc/root.server";
import { createContext } from "../../app/trpc/trpc.server";
import { createUser, system, TEST_PASSWORD, testKeyward, type TestKeyward } from "../support/keyward";
import { expectEvery } from "../support/expect";

const ORIGIN = "http://keyward.test";
const clock = new ManualClock(new Date("2026-11-25T09:00:00Z"));
let kw: TestKeyward;
type User = Awaited<ReturnType<typeof createUser>>;
type Caller = ReturnType<typeof createCaller>;
let admin: User;
let member: User;
let other: User;

beforeAll(async () => {
  kw = await testKeyward({ clock });
  admin = await createUser(kw, "admin");
  // A second admin, so tests may demote or disable the first kind without hitting the last-admin rule.
  await createUser(kw, "admin");
  member = await createUser(kw, "member");
  other = await createUser(kw, "member");
});

afterAll(async () => {
  await kw?.dispose();
});

/** Signs in (a real session row) and returns the cookie, as the login route would set it. */
async function signIn(user: User): Promise<string> {
  const { cookie } = await kw.auth.login(user.email, TEST_PASSWORD);
  return cookie.split(";")[0]!;
}

/**
 * The caller a dashboard loader gets, built the way app/session.server.ts builds it: the session
 * behind the cookie (none for a disabled user) becomes the actor; the request carries the Origin.
 */
async function sessionCaller(cookie: string, origin = ORIGIN): Promise<Caller> {
  const request = new Request(`${ORIGIN}/keys`, { method: "POST", headers: { Cookie: cookie, Origin: origin } });
  const session = await kw.auth.fromRequest(request);
  const actor = session ? sessionActor(session.user, requestMeta(request, "127.0.0.1", "req-session")) : null;
  return createCaller({ keyward: kw, request, actor, viaCookie: Boolean(session), authFailure: null });
}

/** The caller the tRPC route builds for a request carrying `Authorization: Bearer <key>`. */
async function keyCaller(key: string, clientIp = "127.0.0.1", headers: Record<string, string> = {}): Promise<Caller> {
  const request = new Request(`${ORIGIN}/api/trpc/keys.list`, { headers: { Authorization: `Bearer ${key}`, ...headers } });
  return createCaller(await createContext({ keyward: kw, request, clientIp, requestId: "req-key" }));
}

async function anonymousCaller(headers: Record<string, string> = {}): Promise<Caller> {
  const request = new Request(`${ORIGIN}/api/trpc/me`, { headers });
  return createCaller(await createContext({ keyward: kw, request, clientIp: "127.0.0.1", requestId: "req-anon" }));
}

/** Asserts a tRPC error with its code, and the Keyward code behind it (what the formatter sends as keywardCode). */
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

const keyFor = async (user: User, input: { scopes: ("read" | "write" | "admin")[]; allowedIps?: string[]; expiresInDays?: number }) =>
  kw.keys.create(user.actor, { name: `${user.role} ${input.scopes.join("+")}`, ...input });

describe("member against another owner's key", () => {
  it("gets NOT_FOUND for get, update, disable, enable, revoke and rotate, and changes nothing", async () => {
    const { apiKey } = await kw.keys.create(other.actor, { name: "theirs", scopes: ["read"] });
    const caller = await sessionCaller(await signIn(member));
    const id = apiKey.id;
    await expectError(caller.keys.get({ id }), "NOT_FOUND", "not_found");
    await expectError(caller.keys.update({ id, name: "mine now" }), "NOT_FOUND", "not_found");
    await expectError(caller.keys.disable({ id }), "NOT_FOUND", "not_found");
    await expectError(caller.keys.enable({ id }), "NOT_FOUND", "not_found");
    await expectError(caller.keys.revoke({ id }), "NOT_FOUND", "not_found");
    await expectError(caller.keys.rotate({ id, gracePeriodSeconds: 0 }), "NOT_FOUND", "not_found");
    expect(await kw.keys.get(system, id)).toMatchObject({ name: "theirs", status: "active", expiresAt: null });
    expect((await caller.keys.list({ ownerId: other.id })).data).toEqual([]);
    // The same key through an API key of the member.
    const { key } = await keyFor(member, { scopes: ["write"] });
    await expectError((await keyCaller(key)).keys.revoke({ id }), "NOT_FOUND", "not_found");
    // An admin sees and manages it.
    const adminCaller = await sessionCaller(await signIn(admin));
    expect((await adminCaller.keys.get({ id })).name).toBe("theirs");
  });
});

describe("minting keys never raises scopes", () => {
  it("a member cannot create an admin-scoped key, nor a key for someone else", async () => {
    const caller = await sessionCaller(await signIn(member));
    await expectError(caller.keys.create({ name: "sneaky", scopes: ["admin"] }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.keys.create({ name: "sneaky", scopes: ["read", "admin"] }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.keys.create({ name: "for them", scopes: ["read"], ownerId: other.id }), "FORBIDDEN", "insufficient_scope");
    expect((await caller.keys.create({ name: "fine", scopes: ["read", "write"] })).apiKey.scopes).toEqual(["read", "write"]);
  });

  it("a write-scoped key of an admin cannot mint an admin key, not even for its admin owner", async () => {
    const { key } = await keyFor(admin, { scopes: ["write"] });
    const caller = await keyCaller(key);
    expect(await caller.me()).toMatchObject({ user: { id: admin.id, role: "admin" }, scopes: ["read", "write"] });
    await expectError(caller.keys.create({ name: "escalate", scopes: ["admin"] }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.keys.create({ name: "escalate", scopes: ["admin"], ownerId: admin.id }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.keys.create({ name: "for a member", scopes: ["read"], ownerId: member.id }), "FORBIDDEN", "insufficient_scope");
    // Nor can it edit or rotate its owner's admin key into its own hands.
    const { apiKey: adminKey } = await keyFor(admin, { scopes: ["admin"] });
    await expectError(caller.keys.update({ id: adminKey.id, name: "renamed" }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.keys.rotate({ id: adminKey.id, gracePeriodSeconds: 0 }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.keys.update({ id: (await keyFor(admin, { scopes: ["read"] })).apiKey.id, scopes: ["admin"] }), "FORBIDDEN", "insufficient_scope");
    // Admin-only procedures stay closed to it, though its owner is an admin.
    await expectError(caller.users.list(), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.keys.reveal({ id: adminKey.id }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.keys.get({ id: (await keyFor(member, { scopes: ["read"] })).apiKey.id }), "NOT_FOUND", "not_found");
    expect((await caller.keys.create({ name: "same level", scopes: ["write"] })).apiKey.ownerId).toBe(admin.id);
  });

  it("an admin-scoped key may mint an admin key for its admin owner", async () => {
    const { key } = await keyFor(admin, { scopes: ["admin"] });
    const caller = await keyCaller(key);
    expect((await caller.keys.create({ name: "ops", scopes: ["admin"] })).apiKey.scopes).toEqual(["admin"]);
    await expectError(caller.keys.create({ name: "ops", scopes: ["admin"], ownerId: member.id }), "FORBIDDEN", "insufficient_scope");
  });

  it("a write-scoped key cannot disable, enable or revoke its owner's admin-scoped key", async () => {
    const { key } = await keyFor(admin, { scopes: ["write"] });
    const { apiKey: strong } = await keyFor(admin, { scopes: ["admin"] });
    const caller = await keyCaller(key);
    await expectError(caller.keys.disable({ id: strong.id }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.keys.revoke({ id: strong.id }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.keys.update({ id: strong.id, name: "renamed" }), "FORBIDDEN", "insufficient_scope");
    expect((await kw.keys.get(system, strong.id)).status).toBe("active");
  });

  it("a read-only key cannot create, change or revoke, but can read", async () => {
    const { key, apiKey } = await keyFor(member, { scopes: ["read"] });
    const caller = await keyCaller(key);
    await expectError(caller.keys.create({ name: "no", scopes: ["read"] }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.keys.update({ id: apiKey.id, name: "no" }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.keys.revoke({ id: apiKey.id }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.keys.rotate({ id: apiKey.id, gracePeriodSeconds: 0 }), "FORBIDDEN", "insufficient_scope");
    expect((await caller.keys.get({ id: apiKey.id })).status).toBe("active");
    expectEvery((await caller.keys.list({})).data, (k) => k.ownerId === member.id);
  });
});

describe("who may call at all", () => {
  it("anonymous callers get UNAUTHORIZED everywhere", async () => {
    const caller = await anonymousCaller();
    await expectError(caller.me(), "UNAUTHORIZED", "unauthorized");
    await expectError(caller.keys.list({}), "UNAUTHORIZED", "unauthorized");
    await expectError(caller.keys.create({ name: "x", scopes: ["read"] }), "UNAUTHORIZED", "unauthorized");
    await expectError(caller.users.list(), "UNAUTHORIZED", "unauthorized");
    // A forged cookie is no session.
    await expectError((await anonymousCaller({ Cookie: `${kw.auth.cookieName}=forged` })).me(), "UNAUTHORIZED", "unauthorized");
  });

  it("a disabled user's session is gone: UNAUTHORIZED for anything; their keys say key_disabled", async () => {
    const user = await createUser(kw, "member");
    const cookie = await signIn(user);
    const { key } = await keyFor(user, { scopes: ["write"] });
    expect((await (await sessionCaller(cookie)).me()).user.id).toBe(user.id);
    await (await sessionCaller(await signIn(admin))).users.disable({ id: user.id });
    const caller = await sessionCaller(cookie);
    await expectError(caller.me(), "UNAUTHORIZED", "unauthorized");
    await expectError(caller.keys.list({}), "UNAUTHORIZED", "unauthorized");
    await expectError(caller.keys.create({ name: "x", scopes: ["read"] }), "UNAUTHORIZED", "unauthorized");
    // Through the tRPC route's own context too (cookie only).
    await expectError((await anonymousCaller({ Cookie: cookie })).me(), "UNAUTHORIZED", "unauthorized");
    await expectError((await keyCaller(key)).me(), "UNAUTHORIZED", "key_disabled");
  });

  it("a member cannot use users.*", async () => {
    const caller = await sessionCaller(await signIn(member));
    await expectError(caller.users.list(), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.users.get({ id: member.id }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.users.create({ email: "new@example.test", password: TEST_PASSWORD }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.users.setRole({ id: member.id, role: "admin" }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.users.disable({ id: other.id }), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.users.enable({ id: other.id }), "FORBIDDEN", "insufficient_scope");
    expect((await kw.users.get(system, member.id)).role).toBe("member");
    expect(await kw.users.findByEmail("new@example.test")).toBeNull();
    // An admin can.
    const adminCaller = await sessionCaller(await signIn(admin));
    expect((await adminCaller.users.list()).map((u) => u.id)).toEqual(expect.arrayContaining([member.id, other.id]));
  });

  it("a demoted admin's admin key loses the admin scope at once", async () => {
    const owner = await createUser(kw, "admin");
    const { key } = await keyFor(owner, { scopes: ["admin"] });
    expect((await (await keyCaller(key)).users.list()).length).toBeGreaterThan(0);
    await kw.users.setRole(admin.actor, owner.id, "member");
    const caller = await keyCaller(key);
    expect(await caller.me()).toMatchObject({ user: { role: "member" }, scopes: ["read", "write"] });
    await expectError(caller.users.list(), "FORBIDDEN", "insufficient_scope");
    await expectError(caller.keys.get({ id: (await keyFor(other, { scopes: ["read"] })).apiKey.id }), "NOT_FOUND", "not_found");
  });
});

describe("API key checks", () => {
  it("refuses a key used outside its IP allowlist with FORBIDDEN ip_not_allowed", async () => {
    const { key } = await keyFor(member, { scopes: ["read"], allowedIps: ["10.0.0.0/8"] });
    await expectError((await keyCaller(key, "127.0.0.1")).me(), "FORBIDDEN", "ip_not_allowed");
    await expectError((await keyCaller(key, "127.0.0.1")).keys.list({}), "FORBIDDEN", "ip_not_allowed");
    expect((await (await keyCaller(key, "10.1.2.3")).me()).keyId).toEqual(expect.stringMatching(/^key_/));
  });

  it("refuses revoked, expired, disabled and unknown keys with UNAUTHORIZED and the reason", async () => {
    const revoked = await keyFor(member, { scopes: ["read"] });
    const disabled = await keyFor(member, { scopes: ["read"] });
    const expired = await keyFor(member, { scopes: ["read"], expiresInDays: 1 });
    await kw.keys.revoke(member.actor, revoked.apiKey.id);
    await kw.keys.disable(member.actor, disabled.apiKey.id);
    clock.advance(86_400_000);
    await expectError((await keyCaller(revoked.key)).keys.list({}), "UNAUTHORIZED", "key_revoked");
    await expectError((await keyCaller(disabled.key)).keys.list({}), "UNAUTHORIZED", "key_disabled");
    await expectError((await keyCaller(expired.key)).keys.list({}), "UNAUTHORIZED", "key_expired");
    await expectError((await keyCaller(generateKey())).me(), "UNAUTHORIZED", "invalid_key");
    await expectError((await keyCaller("kw_short")).me(), "UNAUTHORIZED", "invalid_key");
  });

  it("lets a presented key win over a session cookie, so a bad key is never rescued by the cookie", async () => {
    const cookie = await signIn(member);
    await expectError((await keyCaller(generateKey(), "127.0.0.1", { Cookie: cookie })).me(), "UNAUTHORIZED", "invalid_key");
  });
});

describe("CSRF and input errors through the caller", () => {
  it("refuses a cookie-authenticated mutation from another origin, and allows queries and same-origin changes", async () => {
    const cookie = await signIn(member);
    const evil = await sessionCaller(cookie, "https://evil.example");
    await expectError(evil.keys.create({ name: "csrf", scopes: ["read"] }), "FORBIDDEN", "csrf_rejected");
    expect((await kw.keys.list(member.actor, { q: "csrf" })).data).toEqual([]);
    expect((await evil.me()).user.id).toBe(member.id);
    expect((await (await sessionCaller(cookie)).keys.create({ name: "csrf-ok", scopes: ["read"] })).apiKey.name).toBe("csrf-ok");
    // A Bearer key carries no ambient authority: Origin does not matter.
    const { key } = await keyFor(member, { scopes: ["write"] });
    expect((await (await keyCaller(key, "127.0.0.1", { Origin: "https://evil.example" })).keys.create({ name: "by key", scopes: ["read"] })).apiKey.name).toBe("by key");
  });

  it("reports invalid input as BAD_REQUEST with zod's error", async () => {
    const caller = await sessionCaller(await signIn(member));
    const error = await expectError(caller.keys.get({ id: "not-a-key-id" }), "BAD_REQUEST");
    expect(error.cause).toBeInstanceOf(ZodError);
    await expectError(caller.keys.create({ name: "", scopes: [] }), "BAD_REQUEST");
    await expectError(caller.keys.create({ name: "x", scopes: ["read"], allowedIps: ["10.0.0.1/8"] }), "BAD_REQUEST");
    await expectError(caller.keys.rotate({ id: "key_00000000000000000000", gracePeriodSeconds: 7 * 86_400 + 1 }), "BAD_REQUEST");
  });
});

describe("a key never leaves a key less restricted than itself (tRPC)", () => {
  it("cannot lift its own restrictions, rotate itself, or mint a looser key; a session can change it", async () => {
    const { key, apiKey } = await kw.keys.create(member.actor, { name: "restricted", scopes: ["read", "write"], allowedIps: ["127.0.0.1"], rateLimit: { requests: 50, windowSeconds: 60 }, expiresInDays: 1 });
    const caller = await keyCaller(key);
    const id = apiKey.id;
    await expectError(caller.keys.update({ id, allowedIps: [], rateLimit: { requests: 1_000_000, windowSeconds: 1 }, expiresAt: null }), "FORBIDDEN", "self_modification_forbidden");
    await expectError(caller.keys.rotate({ id, gracePeriodSeconds: 0 }), "FORBIDDEN", "self_modification_forbidden");
    const earlier = new Date(Date.parse(apiKey.expiresAt!) - 3_600_000).toISOString();
    await expectError(caller.keys.create({ name: "open", scopes: ["read"] }), "FORBIDDEN", "forbidden");
    await expectError(caller.keys.create({ name: "fast", scopes: ["read"], allowedIps: ["127.0.0.1"], rateLimit: { requests: 1000, windowSeconds: 1 }, expiresAt: earlier }), "FORBIDDEN", "forbidden");
    await expectError(caller.keys.create({ name: "lasting", scopes: ["read"], allowedIps: ["127.0.0.1"], rateLimit: { requests: 5, windowSeconds: 60 }, expiresAt: null }), "FORBIDDEN", "forbidden");
    expect((await caller.keys.update({ id, name: "renamed" })).name).toBe("renamed");
    expect((await caller.keys.create({ name: "within", scopes: ["read"], allowedIps: ["127.0.0.1"], rateLimit: { requests: 5, windowSeconds: 60 }, expiresAt: earlier })).apiKey.allowedIps).toEqual(["127.0.0.1"]);
    expect(await kw.keys.get(system, id)).toMatchObject({ allowedIps: ["127.0.0.1"], rateLimit: { requests: 50, windowSeconds: 60 }, expiresAt: apiKey.expiresAt });

    const session = await sessionCaller(await signIn(member));
    expect(await session.keys.update({ id, allowedIps: [], expiresAt: null })).toMatchObject({ allowedIps: [], expiresAt: null });
  });

  it("rotates a key once: a second rotation is CONFLICT", async () => {
    const { apiKey } = await kw.keys.create(member.actor, { name: "once", scopes: ["read"] });
    const session = await sessionCaller(await signIn(member));
    await session.keys.rotate({ id: apiKey.id, gracePeriodSeconds: 3600 });
    await expectError(session.keys.rotate({ id: apiKey.id, gracePeriodSeconds: 0 }), "CONFLICT", "conflict");
  });

  it("refuses an expiry outside the accepted date range as BAD_REQUEST with zod's error", async () => {
    const { apiKey } = await kw.keys.create(member.actor, { name: "dated", scopes: ["read"] });
    const session = await sessionCaller(await signIn(member));
    for (const expiresAt of ["9999-12-31T00:00:00Z", "0000-01-01T00:00:00Z"]) {
      expect((await expectError(session.keys.create({ name: "far", scopes: ["read"], expiresAt }), "BAD_REQUEST")).cause).toBeInstanceOf(ZodError);
      expect((await expectError(session.keys.update({ id: apiKey.id, expiresAt }), "BAD_REQUEST")).cause).toBeInstanceOf(ZodError);
    }
    expect((await kw.keys.get(system, apiKey.id)).expiresAt).toBeNull();
  });
});

describe("APIs and identities through tRPC", () => {
  it("a member gets NOT_FOUND for another member's API, its keys and identities; a read key cannot change them; an admin can", async () => {
    const api = await kw.apis.create(other.actor, { name: "theirs", prefix: "matrixtheirs" });
    const { apiKey } = await kw.keys.createIssued(other.actor, api.id, { externalId: "their_customer" });
    const identityId = apiKey.identityId!;
    const caller = await sessionCaller(await signIn(member));
    await expectError(caller.apis.get({ id: api.id }), "NOT_FOUND", "not_found");
    await expectError(caller.apis.update({ id: api.id, name: "mine" }), "NOT_FOUND", "not_found");
    await expectError(caller.apis.delete({ id: api.id }), "NOT_FOUND", "not_found");
    await expectError(caller.apis.keys.list({ apiId: api.id }), "NOT_FOUND", "not_found");
    await expectError(caller.apis.keys.create({ apiId: api.id }), "NOT_FOUND", "not_found");
    await expectError(caller.identities.get({ id: identityId }), "NOT_FOUND", "not_found");
    await expectError(caller.identities.byExternalId({ externalId: "their_customer" }), "NOT_FOUND", "not_found");
    await expectError(caller.identities.revokeKeys({ id: identityId }), "NOT_FOUND", "not_found");
    await expectError(caller.identities.disableKeys({ id: identityId }), "NOT_FOUND", "not_found");
    await expectError(caller.identities.delete({ id: identityId }), "NOT_FOUND", "not_found");
    expect((await caller.apis.list({})).data.map((a) => a.id)).not.toContain(api.id);
    expect((await caller.identities.list({ externalId: "their_customer" })).data).toEqual([]);
    expect((await kw.keys.get(system, apiKey.id)).status).toBe("active");

    const { key: readKey } = await keyFor(other, { scopes: ["read"] });
    const reader = await keyCaller(readKey);
    expect((await reader.apis.get({ id: api.id })).id).toBe(api.id);
    await expectError(reader.apis.create({ name: "no", prefix: "matrixno" }), "FORBIDDEN", "insufficient_scope");
    await expectError(reader.apis.keys.create({ apiId: api.id }), "FORBIDDEN", "insufficient_scope");
    await expectError(reader.identities.revokeKeys({ id: identityId }), "FORBIDDEN", "insufficient_scope");

    const adminCaller = await sessionCaller(await signIn(admin));
    expect((await adminCaller.identities.byExternalId({ externalId: "their_customer", apiId: api.id })).id).toBe(identityId);
    expect(await adminCaller.identities.disableKeys({ id: identityId })).toEqual({ identityId, count: 1, keyIds: [apiKey.id] });
  });

  it("issues and lists an API's keys, and refuses the delete of an API or identity with live keys (CONFLICT)", async () => {
    const caller = await sessionCaller(await signIn(member));
    const api = await caller.apis.create({ name: "mine", prefix: "matrixmine", permissions: ["orders.read"] });
    const { key, apiKey } = await caller.apis.keys.create({ apiId: api.id, externalId: "buyer", permissions: ["orders.read"] });
    expect(key.startsWith("matrixmine_")).toBe(true);
    expect((await caller.apis.keys.list({ apiId: api.id, externalId: "buyer" })).data.map((k) => k.id)).toEqual([apiKey.id]);
    await expectError(caller.apis.delete({ id: api.id }), "CONFLICT", "conflict");
    await expectError(caller.identities.delete({ id: apiKey.identityId! }), "CONFLICT", "conflict");
    expect(await caller.verify({ key, apiId: api.id, permissions: { anyOf: ["orders.read"] } })).toMatchObject({ valid: true, code: "VALID", keyId: apiKey.id });
    expect((await caller.identities.revokeKeys({ id: apiKey.identityId! })).count).toBe(1);
    expect((await caller.identities.delete({ id: apiKey.identityId! })).deleted).toBe(true);
    expect((await caller.apis.delete({ id: api.id })).archivedAt).not.toBeNull();
  });
});
