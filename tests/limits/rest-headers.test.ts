import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimiter, type RateLimiterMode } from "../../app/services/rate-limiter.server";
import { call, expectProblem } from "../api/support";
import { createUser, system } from "../support/keyward";
import { redisTestsRun, startPrivateRedis, type PrivateRedis } from "../support/redis";
import { startApp, type RunningApp } from "../support/server";

/**
 * RateLimit-* and Retry-After as the real limiter (the one createKeyward builds) sets them, over HTTP,
 * in both of its modes: a fake limiter proves the headers are copied, not that the limiter counts.
 */
const LIMIT = { requests: 3, windowSeconds: 60 };

interface Mode {
  mode: RateLimiterMode;
  /** The Redis the app shares budgets through, or undefined for the local mode. */
  redisUrl(): string | undefined;
  runs: boolean;
}

let privateRedis: PrivateRedis | undefined;
const modes: Mode[] = [
  { mode: "local", redisUrl: () => undefined, runs: true },
  // The machine's Redis when the run has one, else a private one, so the PGlite pass covers this mode too.
  { mode: "redis", redisUrl: () => process.env.REDIS_URL ?? privateRedis!.url, runs: Boolean(process.env.REDIS_URL) || redisTestsRun },
];

/** The headers a test asserts, as numbers (NaN when absent). */
function limitHeaders(headers: Headers) {
  const read = (name: string) => Number(headers.get(name) ?? Number.NaN);
  return { limit: read("ratelimit-limit"), remaining: read("ratelimit-remaining"), reset: read("ratelimit-reset"), retryAfter: read("retry-after") };
}

/** The key's budget as bottleneck keeps it in Redis is spent: Redis, not a local fallback, decided. */
async function expectSpentInRedis(url: string, keyId: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    const settings = await client.keys(`b_keyward:${keyId}:*_settings`);
    expect(settings).toHaveLength(1);
    expect(Number(await client.hget(settings[0]!, "reservoir"))).toBeLessThanOrEqual(0);
  } finally {
    client.disconnect();
  }
}

describe.each(modes.map((mode) => [mode.mode, mode] as const))("the real limiter, %s mode", (_name, mode) => {
  // Skipped only without a redis-server binary outside CI (see redisTestsRun).
  describe.skipIf(!mode.runs)("over HTTP", () => suite(mode));
});

function suite(mode: Mode): void {
  let app: RunningApp;

  beforeAll(async () => {
    if (mode.mode === "redis" && !process.env.REDIS_URL) privateRedis = await startPrivateRedis();
    // A generous Redis timeout: a slow first call on a loaded machine must not be decided locally.
    app = await startApp({ env: { REDIS_URL: mode.redisUrl(), KEYWARD_REDIS_TIMEOUT_MS: "5000" } });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await privateRedis?.close();
    privateRedis = undefined;
  });

  async function limitedKey(label: string) {
    const owner = await createUser(app.keyward, "member");
    return app.keyward.keys.create(system, { name: label, scopes: ["read"], ownerId: owner.id, rateLimit: LIMIT });
  }

  it("REST: counts a key's 3/60 s budget down in RateLimit-*, then refuses with 429 rate_limited and Retry-After", async () => {
    expect(app.keyward.limiter).toBeInstanceOf(RateLimiter);
    const { key, apiKey } = await limitedKey("rest");

    const seen = [];
    for (const remaining of [2, 1, 0]) {
      const response = await call(app, "/api/v1/me", { key });
      expect(response.status, response.text).toBe(200);
      const headers = limitHeaders(response.headers);
      expect(headers).toMatchObject({ limit: 3, remaining });
      expect(response.headers.has("retry-after")).toBe(false);
      seen.push(headers.reset);
    }
    // The window started at the first request: a minute, less the seconds this test has taken, and never growing.
    expect(seen[0]).toBeGreaterThanOrEqual(55);
    expect(seen[0]).toBeLessThanOrEqual(60);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));

    const refused = await call(app, "/api/v1/me", { key });
    expectProblem(refused, 429, "rate_limited");
    const headers = limitHeaders(refused.headers);
    expect(headers).toMatchObject({ limit: 3, remaining: 0 });
    expect(headers.retryAfter).toBe(headers.reset);
    expect(headers.retryAfter).toBeGreaterThan(0);
    expect(headers.retryAfter).toBeLessThanOrEqual(seen[2]!);

    expect((app.keyward.limiter as RateLimiter).mode).toBe(mode.mode);
    if (mode.mode === "redis") await expectSpentInRedis(mode.redisUrl()!, apiKey.id);
  });

  it("tRPC: the same budget, headers and refusal for calls made with a key", async () => {
    const { key, apiKey } = await limitedKey("trpc");
    const me = () => fetch(`${app.url}/api/trpc/me`, { headers: { Authorization: `Bearer ${key}` } });

    for (const remaining of [2, 1, 0]) {
      const response = await me();
      expect(response.status, await response.clone().text()).toBe(200);
      const headers = limitHeaders(response.headers);
      expect(headers).toMatchObject({ limit: 3, remaining });
      expect(headers.reset).toBeGreaterThan(0);
      expect(headers.reset).toBeLessThanOrEqual(60);
    }

    const refused = await me();
    expect(refused.status).toBe(429);
    const headers = limitHeaders(refused.headers);
    expect(headers).toMatchObject({ limit: 3, remaining: 0 });
    expect(headers.retryAfter).toBe(headers.reset);
    expect(headers.retryAfter).toBeGreaterThan(0);
    const body = (await refused.json()) as { error: { data: { keywardCode: string } } };
    expect(body.error.data.keywardCode).toBe("rate_limited");

    expect((app.keyward.limiter as RateLimiter).mode).toBe(mode.mode);
    if (mode.mode === "redis") await expectSpentInRedis(mode.redisUrl()!, apiKey.id);
  });
}
