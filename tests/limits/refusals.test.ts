import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageRecorder } from "../../app/services/usage.server";
import { call, setup, type Fixture } from "../api/support";
import { system } from "../support/keyward";

/**
 * A refused request (address not allowed, scope missing) spends the key's rate limit like any
 * other, is counted in usage as a refusal, and moves neither the key's last use nor its request
 * count. KEYWARD_TRUST_PROXY=1 makes X-Forwarded-For the client address.
 */
describe("requests the admission refuses", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup({ env: { KEYWARD_TRUST_PROXY: "1" } });
  });
  afterAll(() => f.close());

  const usageOf = async (keyId: string) => {
    await (f.app.keyward.usage as UsageRecorder).flush();
    const { totals } = await f.app.keyward.usageReports.series(system, keyId, { granularity: "minute" });
    const { requestCount, lastUsedIp, lastUsedAt } = await f.app.keyward.keys.get(system, keyId);
    return { totals, requestCount, lastUsedIp, lastUsedAt };
  };

  it("300 from a non-allowed address, over REST and tRPC: limited past the key's budget, counted as refusals, last use unchanged", async () => {
    const { key, apiKey } = await f.createKey(f.member.id, { allowedIps: ["10.0.0.0/8"], rateLimit: { requests: 10, windowSeconds: 60 } });
    expect((await call(f.app, "/api/v1/me", { key, headers: { "X-Forwarded-For": "10.1.2.3" } })).status).toBe(200);
    const before = await usageOf(apiKey.id);
    expect(before).toMatchObject({ requestCount: 1, lastUsedIp: "10.1.2.3" });

    const statuses: number[] = [];
    const outsider = { "X-Forwarded-For": "198.51.100.66" };
    for (let i = 0; i < 300; i++) {
      const path = i % 2 === 0 ? "/api/v1/me" : "/api/trpc/me";
      statuses.push((await call(f.app, path, { key, headers: outsider })).status);
    }
    // The first request spent one unit: nine more refusals fit, then the key is rate limited.
    expect(statuses.slice(0, 9)).toEqual(Array(9).fill(403));
    expect(statuses.slice(9)).toEqual(Array(291).fill(429));

    const after = await usageOf(apiKey.id);
    expect(after).toMatchObject({ requestCount: 1, lastUsedIp: "10.1.2.3", lastUsedAt: before.lastUsedAt });
    expect(after.totals).toEqual({ requests: 301, success: 1, denied: 9, rateLimited: 291, errors: 0 });
  });

  it("a missing scope spends the budget too, on REST and tRPC, and moves no last use", async () => {
    const { key, apiKey } = await f.createKey(f.member.id, { scopes: ["read"], rateLimit: { requests: 3, windowSeconds: 60 } });
    const statuses = [
      (await call(f.app, "/api/v1/keys", { key, method: "POST", body: { name: "x", scopes: ["read"] } })).status,
      (await call(f.app, "/api/trpc/users.list", { key })).status,
      (await call(f.app, "/api/v1/keys", { key, method: "POST", body: { name: "x", scopes: ["read"] } })).status,
      (await call(f.app, "/api/v1/me", { key })).status,
    ];
    expect(statuses).toEqual([403, 403, 403, 429]);
    expect(await usageOf(apiKey.id)).toMatchObject({ requestCount: 0, lastUsedIp: null, lastUsedAt: null, totals: { requests: 4, denied: 3, rateLimited: 1 } });
  });
});
