import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FailedAuthThrottle } from "../../app/services/failed-auth-throttle.server";
import { RateLimiter } from "../../app/services/rate-limiter.server";
import { securityEvents } from "../../db/schema";
import { redisTestsRun, startPrivateRedis, type PrivateRedis } from "../support/redis";
import { createUser, testConfig, testKeyward, type TestKeyward } from "../support/keyward";

/** The container's limiter, which must be the real one (the seam's type shows only `consume`). */
function realLimiter(kw: TestKeyward): RateLimiter {
  if (!(kw.limiter instanceof RateLimiter)) throw new Error("the container should provide a RateLimiter");
  return kw.limiter;
}

describe("configuration", () => {
  it("reads the limits and usage settings, with their defaults", () => {
    const defaults = testConfig();
    expect(defaults.redisUrl).toBeUndefined();
    expect(defaults.rateLimits).toEqual({ defaultLimit: { requests: 1000, windowSeconds: 60 }, failedAuth: { requests: 20, windowSeconds: 60 }, maxTrpcBatch: 20, redisTimeoutMs: 250 });
    expect(defaults.usage).toEqual({ flushIntervalMs: 2000, requestLogRetentionDays: 14 });

    const set = testConfig({
      REDIS_URL: "redis://cache.internal:6380/2",
      KEYWARD_DEFAULT_RATE_LIMIT: "50/10",
      KEYWARD_FAILED_AUTH_LIMIT: "5",
      KEYWARD_USAGE_FLUSH_MS: "500",
      KEYWARD_REQUEST_LOG_RETENTION_DAYS: "30",
      KEYWARD_MAX_TRPC_BATCH: "5",
      KEYWARD_REDIS_TIMEOUT_MS: "1000",
    });
    expect(set.redisUrl).toBe("redis://cache.internal:6380/2");
    expect(set.rateLimits).toEqual({ defaultLimit: { requests: 50, windowSeconds: 10 }, failedAuth: { requests: 5, windowSeconds: 60 }, maxTrpcBatch: 5, redisTimeoutMs: 1000 });
    expect(set.usage).toEqual({ flushIntervalMs: 500, requestLogRetentionDays: 30 });
  });

  it("refuses malformed values with a message naming the variable", () => {
    for (const env of [{ KEYWARD_DEFAULT_RATE_LIMIT: "lots" }, { KEYWARD_DEFAULT_RATE_LIMIT: "10/0" }, { KEYWARD_FAILED_AUTH_LIMIT: "0" }, { REDIS_URL: "localhost:6379" }]) {
      expect(() => testConfig(env)).toThrow(new RegExp(`${Object.keys(env)[0]}: `));
    }
  });
});

describe("the service container", () => {
  let kw: TestKeyward;
  beforeAll(async () => {
    // Local on purpose, even in the CI run that sets REDIS_URL for everything else.
    kw = await testKeyward({ env: { REDIS_URL: undefined, KEYWARD_DEFAULT_RATE_LIMIT: "3/60", KEYWARD_FAILED_AUTH_LIMIT: "2/60", KEYWARD_USAGE_FLUSH_MS: "60000" } });
  });
  afterAll(async () => {
    await kw?.dispose();
  });

  it("limits keys locally without REDIS_URL, with the configured default", async () => {
    const limiter = realLimiter(kw);
    expect(limiter.mode).toBe("local");
    const decisions = await Promise.all([1, 2, 3, 4].map(() => limiter.consume("key_container_default", null)));
    expect(decisions.map((d) => d.allowed).sort()).toEqual([false, true, true, true]);
  });

  it("consumes the verified key's limit in verify (RATE_LIMITED once it is spent)", async () => {
    const owner = await createUser(kw, "member");
    const api = await kw.apis.create(owner.actor, { name: "Limited", prefix: "limited" });
    const { key } = await kw.keys.createIssued(owner.actor, api.id, { name: "verified", rateLimit: { requests: 2, windowSeconds: 60 } });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await kw.verifier.verify(key, { caller: owner.actor })).code);
    expect(codes).toEqual(["VALID", "VALID", "RATE_LIMITED"]);
  });

  it("throttles failed authentication per address, and the login per address and per account from an address", async () => {
    const throttle = kw.authFailures;
    if (!(throttle instanceof FailedAuthThrottle)) throw new Error("the container should provide a FailedAuthThrottle");
    throttle.recordFailure("192.0.2.50");
    expect(throttle.isBlocked("192.0.2.50").blocked).toBe(false);
    throttle.recordFailure("192.0.2.50");
    expect(throttle.isBlocked("192.0.2.50")).toEqual({ blocked: true, retryAfterSeconds: 60 });
    // Half the limit of 2 on one account from one address; another address is not refused.
    kw.loginFailures.recordFailure("192.0.2.60", "someone@example.test");
    await expect(kw.loginFailures.check("192.0.2.60", "someone@example.test")).resolves.toMatchObject({ blocked: true });
    await expect(kw.loginFailures.check("192.0.2.61", "someone@example.test")).resolves.toMatchObject({ blocked: false });
  });

  it("writes recorded usage when it closes, readable through usageReports", async () => {
    const owner = await createUser(kw, "member");
    const { apiKey } = await kw.keys.create(owner.actor, { name: "closing", scopes: ["read"] });
    const at = kw.clock.now();
    for (let i = 0; i < 5; i++) {
      kw.usage!.record({ keyId: apiKey.id, accepted: true, at, method: "GET", path: "/api/v1/me", status: 200, clientIp: "192.0.2.7", durationMs: 1, userAgent: null, requestId: `close-${i}` });
    }
    await kw.close();
    const series = await kw.usageReports.series(owner.actor, apiKey.id, { granularity: "minute", from: new Date(at.getTime() - 60_000).toISOString(), to: new Date(at.getTime() + 60_000).toISOString() });
    expect(series.totals.requests).toBe(5);
    expect(series).toMatchObject({ lastUsedIp: "192.0.2.7", lastUsedAt: at.toISOString() });
  });
});

describe.skipIf(!redisTestsRun)("the service container with REDIS_URL", () => {
  let redis: PrivateRedis;
  let kw: TestKeyward;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    kw = await testKeyward({ env: { REDIS_URL: redis.url } });
  });
  afterAll(async () => {
    await kw?.dispose();
    await redis?.close();
  });

  it("records a security event when limits fall back to local, and another when Redis is back", async () => {
    const limiter = realLimiter(kw);
    expect((await limiter.consume("key_container_redis", null)).allowed).toBe(true);
    expect(limiter.mode).toBe("redis");
    await redis.stop();
    expect((await limiter.consume("key_container_redis", null)).allowed).toBe(true);
    expect(limiter.mode).toBe("fallback");
    await redis.start();
    await vi.waitFor(() => expect(limiter.mode).toBe("redis"), { timeout: 10_000, interval: 50 });
    await kw.securityEvents.flush();
    const rows = await kw.database.db.select({ kind: securityEvents.kind, severity: securityEvents.severity }).from(securityEvents);
    const kinds = rows.map((row) => row.kind);
    expect(kinds).toContain("rate_limiter_fallback");
    expect(kinds).toContain("rate_limiter_recovered");
    expect(rows.find((row) => row.kind === "rate_limiter_fallback")).toMatchObject({ severity: "warning" });
  }, 20_000);
});
