import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { securityEvents } from "../../db/schema";
import { generateKey } from "../../app/lib/key-format";
import { TEST_PASSWORD } from "../support/keyward";
import { call, setup, type Fixture } from "./support";

/** Every refusal the request paths make is recorded as a security event; none of them holds a presented key. */
describe("security events recorded by the REST API, tRPC and the dashboard login", () => {
  let f: Fixture;
  let ipCounter = 0;
  const presented: string[] = [];
  /** A fresh client address (KEYWARD_TRUST_PROXY=1 makes the test's X-Forwarded-For the client). */
  const from = () => ({ "X-Forwarded-For": `203.0.113.${++ipCounter}` });

  beforeAll(async () => {
    f = await setup({ env: { KEYWARD_TRUST_PROXY: "1", KEYWARD_FAILED_AUTH_LIMIT: "3/60" } });
    presented.push(f.adminKey, f.memberKey, f.memberReadKey, f.otherKey);
  });
  afterAll(() => f.close());

  async function events(kind: string, clientIp?: string) {
    await f.app.keyward.securityEvents.flush();
    const rows = await f.app.keyward.database.db.select().from(securityEvents);
    return rows.filter((row) => row.kind === kind && (clientIp === undefined || row.clientIp === clientIp));
  }
  const trpc = (procedure: string, key: string, headers: Record<string, string>) => call(f.app, `/api/trpc/${procedure}`, { key, headers });

  it("rate_limited, on REST and on tRPC, aggregated per key and address", async () => {
    const { key, apiKey } = await f.createKey(f.member.id, { rateLimit: { requests: 1, windowSeconds: 60 } });
    presented.push(key);
    const headers = from();
    expect((await call(f.app, "/api/v1/me", { key, headers })).status).toBe(200);
    expect((await call(f.app, "/api/v1/me", { key, headers })).status).toBe(429);
    expect((await trpc("me", key, headers)).status).toBe(429);
    expect(await events("rate_limited", headers["X-Forwarded-For"])).toMatchObject([{ keyId: apiKey.id, count: 2, severity: "info" }]);
  });

  it("too_many_failures once the failed-auth throttle refuses, on REST and tRPC", async () => {
    const headers = from();
    const forged = Array.from({ length: 5 }, () => generateKey());
    presented.push(...forged);
    for (let i = 0; i < 3; i++) expect((await call(f.app, "/api/v1/me", { key: forged[i]!, headers })).status).toBe(401);
    expect((await call(f.app, "/api/v1/me", { key: forged[3]!, headers })).status).toBe(429);
    expect((await trpc("me", forged[4]!, headers)).status).toBe(429);
    expect(await events("invalid_key", headers["X-Forwarded-For"])).toMatchObject([{ count: 3, keyId: null }]);
    expect(await events("too_many_failures", headers["X-Forwarded-For"])).toMatchObject([{ count: 2, keyId: null, severity: "warning" }]);
  });

  it("tRPC key refusals: unknown and revoked keys, a denied address, a missing scope", async () => {
    const headers = from();
    const ip = headers["X-Forwarded-For"];
    const revoked = await f.createKey(f.member.id);
    await f.app.keyward.keys.revoke({ kind: "system", label: "test" }, revoked.apiKey.id);
    const fenced = await f.createKey(f.member.id, { allowedIps: ["10.0.0.0/8"] });
    presented.push(revoked.key, fenced.key);
    expect((await trpc("me", revoked.key, headers)).status).toBe(401);
    expect((await trpc("me", fenced.key, from())).status).toBe(403);
    expect((await trpc("users.list", f.memberReadKey, headers)).status).toBe(403);
    expect((await trpc("me", "kw_garbage", headers)).status).toBe(401);
    expect(await events("key_revoked", ip)).toMatchObject([{ keyId: revoked.apiKey.id, severity: "warning" }]);
    expect(await events("ip_not_allowed")).toEqual(expect.arrayContaining([expect.objectContaining({ keyId: fenced.apiKey.id })]));
    expect(await events("insufficient_scope", ip)).toMatchObject([{ details: { required: "admin" } }]);
    expect(await events("invalid_key", ip)).toHaveLength(1);
  });

  it("login_failed for each wrong password, login_locked once the throttle refuses, without the email", async () => {
    const headers = from();
    const signIn = (password: string) =>
      fetch(`${f.app.url}/login`, {
        method: "POST",
        redirect: "manual",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: f.app.url, ...headers },
        body: new URLSearchParams({ email: f.member.email, password }),
      });
    // With a limit of 3, one account is refused from one address after ⌈3/2⌉ = 2 failures.
    for (let i = 0; i < 2; i++) expect((await signIn("wrong password")).status).toBe(401);
    expect((await signIn(TEST_PASSWORD)).status).toBe(429);
    const failed = await events("login_failed", headers["X-Forwarded-For"]);
    expect(failed).toMatchObject([{ count: 2, severity: "warning" }]);
    expect(await events("login_locked", headers["X-Forwarded-For"])).toMatchObject([{ count: 1 }]);
    expect(JSON.stringify(failed)).not.toContain(f.member.email);
  });

  it("admin_login_new_ip when an admin signs in from an address new to them, and its alert", async () => {
    const signIn = (headers: Record<string, string>) =>
      fetch(`${f.app.url}/login`, {
        method: "POST",
        redirect: "manual",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: f.app.url, ...headers },
        body: new URLSearchParams({ email: f.admin.email, password: TEST_PASSWORD }),
      });
    const home = from();
    const away = from();
    expect((await signIn(home)).status).toBe(302);
    expect((await signIn(home)).status).toBe(302);
    expect(await events("admin_login_new_ip")).toHaveLength(0);
    expect((await signIn(away)).status).toBe(302);
    expect(await events("admin_login_new_ip", away["X-Forwarded-For"])).toMatchObject([{ details: { userId: f.admin.id } }]);
    const alerts = await f.app.keyward.security.listAlerts({ kind: "system", label: "test" }, {});
    expect(alerts.data.find((alert) => alert.ruleId === "admin_login_new_ip")).toMatchObject({ subject: away["X-Forwarded-For"], status: "open" });
  });

  it("key_revealed when a recoverable key is revealed over REST", async () => {
    const { key, apiKey } = await f.createKey(f.member.id, { recoverable: true });
    presented.push(key);
    const headers = from();
    expect((await call(f.app, `/api/v1/keys/${apiKey.id}/reveal`, { key: f.adminKey, method: "POST", headers })).status).toBe(200);
    expect(await events("key_revealed", headers["X-Forwarded-For"])).toMatchObject([{ keyId: apiKey.id, severity: "warning", details: { revealedBy: f.admin.id } }]);
  });

  it("no event anywhere holds a presented key", async () => {
    await f.app.keyward.securityEvents.flush();
    const text = JSON.stringify(await f.app.keyward.database.db.select().from(securityEvents));
    for (const key of presented) expect(text).not.toContain(key);
    expect(text).not.toMatch(/kw_[0-9A-Za-z]{61}/);
    expect(text).not.toContain(TEST_PASSWORD);
  });
});
