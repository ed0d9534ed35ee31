import { afterEach, describe, expect, it } from "vitest";
import type { UsageRecorder } from "../../app/services/usage.server";
import { createUser, system } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

let app: RunningApp | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** Uses a fresh key once with a forged X-Forwarded-For, and returns what Keyward recorded as its last address. */
async function lastUsedIpAfterForwardedRequest(trustProxy: string): Promise<string | null> {
  app = await startApp({ env: { KEYWARD_TRUST_PROXY: trustProxy } });
  const owner = await createUser(app.keyward, "member");
  const { key, apiKey } = await app.keyward.keys.create(system, { name: "proxied", scopes: ["read"], ownerId: owner.id });
  const response = await fetch(`${app.url}/api/v1/me`, { headers: { Authorization: `Bearer ${key}`, "X-Forwarded-For": "203.0.113.7" } });
  expect(response.status).toBe(200);
  await (app.keyward.usage as UsageRecorder).flush();
  return (await app.keyward.keys.get(system, apiKey.id)).lastUsedIp;
}

describe("last-used IP", () => {
  it("is the socket peer when KEYWARD_TRUST_PROXY is 0: a forwarded header is ignored", async () => {
    expect(await lastUsedIpAfterForwardedRequest("0")).toBe("127.0.0.1");
  });

  it("is the forwarded client when one proxy hop is trusted", async () => {
    expect(await lastUsedIpAfterForwardedRequest("1")).toBe("203.0.113.7");
  });
});
