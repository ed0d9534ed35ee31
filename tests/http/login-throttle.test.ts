import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_ACCOUNT_SLOWDOWN_MS } from "../../app/services/failed-auth-throttle.server";
import { createUser, TEST_PASSWORD } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

const LIMIT = 6;
let app: RunningApp;

beforeAll(async () => {
  // KEYWARD_TRUST_PROXY=1: each request says its address in X-Forwarded-For, as a proxy in front would.
  app = await startApp({ env: { KEYWARD_FAILED_AUTH_LIMIT: `${LIMIT}/60`, KEYWARD_TRUST_PROXY: "1" } });
});

afterAll(async () => {
  await app?.close();
});

const attempt = (from: string, email: string, password: string) =>
  fetch(`${app.url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: app.url, "X-Forwarded-For": from },
    body: new URLSearchParams({ email, password }),
  });

async function statuses(from: string, email: string, count: number): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) {
    const response = await attempt(from, email, `wrong password ${i}`);
    await response.arrayBuffer();
    seen.push(response.status);
  }
  return seen;
}

describe("dashboard sign-in throttle", () => {
  it("lets the victim sign in and change their password from another address after 20+ wrong passwords from one, which stays refused", async () => {
    const victim = await createUser(app.keyward, "member");
    const attacker = "198.51.100.66";
    const perAccountFromAddress = Math.ceil(LIMIT / 2);
    const seen = await statuses(attacker, victim.email, 24);
    expect(seen).toEqual([...Array<number>(perAccountFromAddress).fill(401), ...Array<number>(24 - perAccountFromAddress).fill(429)]);

    const refused = await attempt(attacker, victim.email, TEST_PASSWORD);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.headers.get("set-cookie")).toBeNull();

    const home = "203.0.113.20";
    const signedIn = await attempt(home, victim.email, TEST_PASSWORD);
    expect(signedIn.status).toBe(302);
    const cookie = signedIn.headers.get("set-cookie")!.split(";")[0]!;

    const changed = await fetch(`${app.url}/account?_data=routes%2F_app.account`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: app.url, "X-Forwarded-For": home, Cookie: cookie },
      body: new URLSearchParams({ intent: "changePassword", currentPassword: TEST_PASSWORD, newPassword: "a brand new passphrase", confirmPassword: "a brand new passphrase" }),
    });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({ ok: true });
    expect((await attempt(home, victim.email, "a brand new passphrase")).status).toBe(302);
    // The attacker's address is still refused, the new password too.
    expect((await attempt(attacker, victim.email, "a brand new passphrase")).status).toBe(429);
  });

  it("refuses an address after the limit of failures on any accounts, and only that address", async () => {
    const sprayer = "198.51.100.77";
    const seen: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++) {
      const response = await attempt(sprayer, `sprayed-${i}@example.test`, "Winter2026!");
      await response.arrayBuffer();
      seen.push(response.status);
    }
    expect(seen).toEqual([...Array<number>(LIMIT).fill(401), 429, 429]);
    const user = await createUser(app.keyward, "member");
    expect((await attempt(sprayer, user.email, TEST_PASSWORD)).status).toBe(429);
    expect((await attempt("198.51.100.78", user.email, TEST_PASSWORD)).status).toBe(302);
  });

  it("counts an IPv6 client by its /64: rotating addresses inside it is refused, a neighbouring /64 is not", async () => {
    const seen: number[] = [];
    for (let i = 1; i <= LIMIT + 2; i++) {
      const response = await attempt(`2001:db8:77:1::${i.toString(16)}`, `rotating-${i}@example.test`, "wrong password");
      await response.arrayBuffer();
      seen.push(response.status);
    }
    expect(seen).toEqual([...Array<number>(LIMIT).fill(401), 429, 429]);
    const user = await createUser(app.keyward, "member");
    expect((await attempt("2001:db8:77:1:ffff:ffff:ffff:ffff", user.email, TEST_PASSWORD)).status).toBe(429);
    expect((await attempt("2001:db8:77:2::1", user.email, TEST_PASSWORD)).status).toBe(302);
  });

  it("never refuses an account guessed at from many addresses: the right password still signs in, slowed by at most 2 s", async () => {
    const victim = await createUser(app.keyward, "member");
    // One wrong password from each of 12 addresses: none is refused, the account's count passes the limit.
    for (let i = 0; i < 12; i++) {
      const response = await attempt(`192.0.2.${100 + i}`, victim.email, "wrong password");
      await response.arrayBuffer();
      expect(response.status).toBe(401);
    }
    expect(app.keyward.loginFailures.slowDownMs(victim.email)).toBe(MAX_ACCOUNT_SLOWDOWN_MS);
    const started = performance.now();
    const signedIn = await attempt("192.0.2.250", victim.email, TEST_PASSWORD);
    const took = performance.now() - started;
    expect(signedIn.status).toBe(302);
    expect(took).toBeGreaterThanOrEqual(MAX_ACCOUNT_SLOWDOWN_MS - 50);
    expect(took).toBeLessThan(MAX_ACCOUNT_SLOWDOWN_MS + 3_000);
  });
});
