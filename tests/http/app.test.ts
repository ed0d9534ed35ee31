import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestMeta } from "../../app/lib/request.server";
import { sessionActor } from "../../app/services/actor.server";
import { AuthService } from "../../app/services/auth.server";
import { createCaller } from "../../app/trpc/root.server";
import { createUser, system, TEST_HASHING, TEST_PASSWORD, testConfig } from "../support/keyward";
import { login, startApp, type RunningApp } from "../support/server";

const EVIL = "https://evil.example";
let app: RunningApp;
let member: Awaited<ReturnType<typeof createUser>>;
let admin: Awaited<ReturnType<typeof createUser>>;

beforeAll(async () => {
  app = await startApp();
  member = await createUser(app.keyward, "member");
  admin = await createUser(app.keyward, "admin");
});

afterAll(async () => {
  await app?.close();
});

const form = (fields: Record<string, string>) => new URLSearchParams(fields);

function postLogin(email: string, password: string, origin = app.url) {
  return fetch(`${app.url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: origin },
    body: form({ email, password }),
  });
}

/** GET /api/trpc/me with whatever credentials the headers carry. */
const me = (headers: Record<string, string>) => fetch(`${app.url}/api/trpc/me`, { headers });

function trpcMutation(path: string, input: unknown, headers: Record<string, string>) {
  return fetch(`${app.url}/api/trpc/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(input),
  });
}

/** Cookie attributes from a Set-Cookie value, names lower-cased. */
function cookieAttributes(setCookie: string): { name: string; value: string; attributes: Map<string, string> } {
  const [pair, ...rest] = setCookie.split(";").map((part) => part.trim());
  const [name, value] = [pair!.slice(0, pair!.indexOf("=")), pair!.slice(pair!.indexOf("=") + 1)];
  return { name, value, attributes: new Map(rest.map((part) => [part.split("=")[0]!.toLowerCase(), part.split("=")[1] ?? ""])) };
}

const keysNamed = async (name: string) => (await app.keyward.keys.list(system, { q: name })).data.filter((k) => k.name === name);

describe("login and logout over HTTP", () => {
  it("signs in with a session cookie: HttpOnly, SameSite=Lax, Path=/, no Secure outside production", async () => {
    const response = await postLogin(member.email, TEST_PASSWORD);
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/keys");
    const setCookie = response.headers.get("set-cookie")!;
    const cookie = cookieAttributes(setCookie);
    expect(cookie.name).toBe("keyward_session");
    expect(cookie.value).toMatch(/^[a-z0-9]{20,}$/);
    expect(cookie.attributes.has("httponly")).toBe(true);
    expect(cookie.attributes.get("samesite")).toBe("Lax");
    expect(cookie.attributes.get("path")).toBe("/");
    expect(cookie.attributes.has("secure")).toBe(false);
    expect(cookie.attributes.has("domain")).toBe(false);
    // The cookie outlives the session (lucia's longest, 400 days): the database decides when it ends.
    expect(Number(cookie.attributes.get("max-age"))).toBe(400 * 86_400);

    const response2 = await me({ Cookie: `${cookie.name}=${cookie.value}` });
    expect(response2.status).toBe(200);
    expect((await response2.json()).result.data).toMatchObject({ user: { id: member.id, email: member.email, role: "member" }, keyId: null });
  });

  it("answers a wrong password or an unknown email with 401, the same message, and no cookie", async () => {
    const wrong = await postLogin(member.email, "not the password at all");
    const unknown = await postLogin("nobody@example.test", TEST_PASSWORD);
    for (const response of [wrong, unknown]) {
      expect(response.status).toBe(401);
      expect(response.headers.get("set-cookie")).toBeNull();
    }
    const [wrongText, unknownText] = [await wrong.text(), await unknown.text()];
    expect(wrongText).toContain("The email or password is not right");
    expect(unknownText).toContain("The email or password is not right");
  });

  it("logs out: the cookie is cleared and the session no longer works", async () => {
    const cookie = await login(app, member.email, TEST_PASSWORD);
    expect((await me({ Cookie: cookie })).status).toBe(200);
    const response = await fetch(`${app.url}/logout`, { method: "POST", redirect: "manual", headers: { Cookie: cookie, Origin: app.url } });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/login");
    const cleared = cookieAttributes(response.headers.get("set-cookie")!);
    expect(cleared.name).toBe("keyward_session");
    expect(cleared.value).toBe("");
    expect(cleared.attributes.get("max-age")).toBe("0");
    expect((await me({ Cookie: cookie })).status).toBe(401);
  });

  it("uses __Host-keyward_session with Secure under a production config", async () => {
    const config = testConfig({ NODE_ENV: "production" });
    expect(config.production).toBe(true);
    const auth = new AuthService({ db: app.keyward.database.db, clock: app.keyward.clock, production: config.production, hashing: TEST_HASHING });
    expect(auth.cookieName).toBe("__Host-keyward_session");
    const { cookie } = await auth.login(member.email, TEST_PASSWORD);
    const parsed = cookieAttributes(cookie);
    expect(parsed.name).toBe("__Host-keyward_session");
    expect(parsed.attributes.has("secure")).toBe(true);
    expect(parsed.attributes.has("httponly")).toBe(true);
    expect(parsed.attributes.get("samesite")).toBe("Lax");
    expect(parsed.attributes.get("path")).toBe("/");
    // __Host- cookies must not name a Domain.
    expect(parsed.attributes.has("domain")).toBe(false);
    const blank = cookieAttributes(await auth.logout(null));
    expect(blank.name).toBe("__Host-keyward_session");
    expect(blank.attributes.has("secure")).toBe(true);
  });
});

describe("CSRF: cookie-authenticated writes from another origin", () => {
  it("refuses a cross-origin POST /logout with 403, and the session lives on", async () => {
    const cookie = await login(app, member.email, TEST_PASSWORD);
    const response = await fetch(`${app.url}/logout`, { method: "POST", redirect: "manual", headers: { Cookie: cookie, Origin: EVIL } });
    expect(response.status).toBe(403);
    expect(response.headers.get("set-cookie")).toBeNull();
    expect((await me({ Cookie: cookie })).status).toBe(200);
  });

  // Bug fixed in app/server/http.ts: Remix aborted a cross-origin POST to a page with an empty 500
  // (and an error in the log) before the login action's own check could answer 403.
  it("refuses a cross-origin POST /login with 403 and no session (login CSRF)", async () => {
    const response = await postLogin(member.email, TEST_PASSWORD, EVIL);
    expect(response.status).toBe(403);
    expect(response.headers.get("set-cookie")).toBeNull();
    const wrongPassword = await postLogin(member.email, "not the password at all", EVIL);
    expect(wrongPassword.status).toBe(403);
    // A non-browser client sending no Origin is not a CSRF vector, and may still sign in.
    const noOrigin = await fetch(`${app.url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: form({ email: member.email, password: TEST_PASSWORD }),
    });
    expect(noOrigin.status).toBe(302);
  });

  it("refuses a cross-origin tRPC mutation with 403 csrf_rejected and creates nothing; the same-origin one works", async () => {
    const cookie = await login(app, member.email, TEST_PASSWORD);
    const refused = await trpcMutation("keys.create", { name: "csrf-http", scopes: ["read"] }, { Cookie: cookie, Origin: EVIL });
    expect(refused.status).toBe(403);
    const body = await refused.json();
    expect(body.error.data).toMatchObject({ code: "FORBIDDEN", httpStatus: 403, keywardCode: "csrf_rejected", path: "keys.create" });
    expect(await keysNamed("csrf-http")).toEqual([]);

    // No Origin but a browser saying cross-site: refused too.
    const fetchSite = await trpcMutation("keys.create", { name: "csrf-http", scopes: ["read"] }, { Cookie: cookie, "Sec-Fetch-Site": "cross-site" });
    expect(fetchSite.status).toBe(403);
    expect(await keysNamed("csrf-http")).toEqual([]);

    const accepted = await trpcMutation("keys.create", { name: "csrf-http", scopes: ["read"] }, { Cookie: cookie, Origin: app.url });
    expect(accepted.status).toBe(200);
    expect(await keysNamed("csrf-http")).toHaveLength(1);
  });
});

describe("tRPC over HTTP with a Bearer key", () => {
  it("GET /api/trpc/me answers 200 with the key's principal", async () => {
    const { key, apiKey } = await app.keyward.keys.create(member.actor, { name: "sdk", scopes: ["write"] });
    const response = await me({ Authorization: `Bearer ${key}` });
    expect(response.status).toBe(200);
    expect((await response.json()).result.data).toEqual({
      user: { id: member.id, email: member.email, role: "member" },
      keyId: apiKey.id,
      scopes: ["read", "write"],
    });
    const viaHeader = await me({ "X-API-Key": key });
    expect(viaHeader.status).toBe(200);
  });

  it("POST /api/trpc/keys.create (plain JSON input) creates a key that the dashboard's caller then lists", async () => {
    const { key } = await app.keyward.keys.create(member.actor, { name: "sdk", scopes: ["write"] });
    const response = await trpcMutation("keys.create", { name: "made over http", scopes: ["read"], expiresInDays: 30 }, { Authorization: `Bearer ${key}` });
    expect(response.status).toBe(200);
    const { result } = await response.json();
    expect(result.data.key).toMatch(/^kw_[0-9A-Za-z]{61}$/);
    expect(result.data.apiKey).toMatchObject({ name: "made over http", ownerId: member.id, scopes: ["read"], status: "active" });

    const request = new Request(`${app.url}/keys`, { headers: { Origin: app.url } });
    const caller = createCaller({
      keyward: app.keyward,
      request,
      actor: sessionActor(member, requestMeta(request, "127.0.0.1", "req-list")),
      viaCookie: true,
      authFailure: null,
    });
    const listed = await caller.keys.list({});
    expect(listed.data.map((k) => k.id)).toContain(result.data.apiKey.id);
    // The new key works over HTTP at once.
    expect((await me({ Authorization: `Bearer ${result.data.key}` })).status).toBe(200);
    // A Bearer key carries no ambient authority, so a cross-origin caller (a browser app) may use it.
    const crossOrigin = await trpcMutation("keys.create", { name: "from a browser app", scopes: ["read"] }, { Authorization: `Bearer ${key}`, Origin: EVIL });
    expect(crossOrigin.status).toBe(200);
  });

  it("maps refusals to HTTP statuses with a stable keywardCode", async () => {
    const expectRefusal = async (response: Response, status: number, keywardCode: string) => {
      expect(response.status).toBe(status);
      const body = await response.json();
      expect(body.error.data.keywardCode).toBe(keywardCode);
      expect(body.error.data.httpStatus).toBe(status);
    };
    await expectRefusal(await me({}), 401, "unauthorized");
    await expectRefusal(await me({ Authorization: "Bearer kw_nope" }), 401, "invalid_key");

    const allowlisted = await app.keyward.keys.create(member.actor, { name: "office only", scopes: ["read"], allowedIps: ["10.0.0.0/8"] });
    await expectRefusal(await me({ Authorization: `Bearer ${allowlisted.key}` }), 403, "ip_not_allowed");

    const readOnly = await app.keyward.keys.create(member.actor, { name: "reader", scopes: ["read"] });
    await expectRefusal(await trpcMutation("keys.create", { name: "no", scopes: ["read"] }, { Authorization: `Bearer ${readOnly.key}` }), 403, "insufficient_scope");

    const revoked = await app.keyward.keys.create(member.actor, { name: "gone", scopes: ["read"] });
    await app.keyward.keys.revoke(member.actor, revoked.apiKey.id);
    await expectRefusal(await me({ Authorization: `Bearer ${revoked.key}` }), 401, "key_revoked");

    const adminKey = await app.keyward.keys.create(admin.actor, { name: "write only", scopes: ["write"] });
    await expectRefusal(await trpcMutation("keys.create", { name: "up", scopes: ["admin"] }, { Authorization: `Bearer ${adminKey.key}` }), 403, "insufficient_scope");

    const invalid = await trpcMutation("keys.create", { name: "", scopes: [] }, { Authorization: `Bearer ${readOnly.key}` });
    expect(invalid.status).toBe(403);
    const badInput = await trpcMutation("keys.create", { name: "", scopes: [] }, { Authorization: `Bearer ${adminKey.key}` });
    expect(badInput.status).toBe(400);
    const body = await badInput.json();
    expect(body.error.data.keywardCode).toBe("validation_failed");
    expect(Object.keys(body.error.data.fieldErrors)).toEqual(expect.arrayContaining(["name", "scopes"]));
  });
});
