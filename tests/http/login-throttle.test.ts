import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, TEST_PASSWORD } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

let app: RunningApp;

beforeAll(async () => {
  app = await startApp({ env: { KEYWARD_FAILED_AUTH_LIMIT: "3/60" } });
});

afterAll(async () => {
  await app?.close();
});

const attempt = (email: string, password: string) =>
  fetch(`${app.url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: app.url },
    body: new URLSearchParams({ email, password }),
  });

describe("dashboard sign-in throttle", () => {
  it("allows the limit of failures for an account, then refuses even the right password with 429 and Retry-After", async () => {
    const user = await createUser(app.keyward, "member");
    for (let i = 0; i < 3; i++) expect((await attempt(user.email, "wrong password")).status).toBe(401);
    const blocked = await attempt(user.email, TEST_PASSWORD);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(blocked.headers.get("set-cookie")).toBeNull();
  });
});
