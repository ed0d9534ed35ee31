import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import readline from "node:readline";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RateLimiter, type RateLimiterOptions, type RateLimitDecision } from "../../app/services/rate-limiter.server";
import type { RateLimit } from "../../db/schema";
import { redisTestsRun, startPrivateRedis, type PrivateRedis } from "../support/redis";
import { expectEvery } from "../support/expect";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let redis: PrivateRedis;
let limiters: RateLimiter[] = [];
let counter = 0;
/** A key id no other test uses, so tests share the server without sharing budgets. */
const freshKey = (label: string) => `key_${label}_${++counter}`;

function sharedLimiter(options: Partial<RateLimiterOptions> = {}): RateLimiter {
  const limiter = new RateLimiter({ defaultLimit: { requests: 1000, windowSeconds: 60 }, redisUrl: redis.url, redisTimeoutMs: 1_000, ...options });
  limiters.push(limiter);
  return limiter;
}

async function consumeMany(limiter: RateLimiter, keyId: string, limit: RateLimit, count: number) {
  const decisions: RateLimitDecision[] = [];
  for (let i = 0; i < count; i++) decisions.push(await limiter.consume(keyId, limit));
  return decisions;
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(25);
  }
}

describe.skipIf(!redisTestsRun)("rate limiter over Redis (bottleneck's ioredis datastore)", () => {
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });

  afterEach(async () => {
    await Promise.all(limiters.map((limiter) => limiter.close()));
    limiters = [];
    if (!(await isUp())) await redis.start();
  });

  afterAll(async () => {
    await redis?.close();
  });

  const isUp = () => redis.command("PING").then(() => true, () => false);

  it("allows exactly N per window, then refuses with remaining 0 and the window's end", async () => {
    const limiter = sharedLimiter();
    const keyId = freshKey("boundary");
    const limit = { requests: 5, windowSeconds: 2 };
    const before = Date.now();
    const decisions = await consumeMany(limiter, keyId, limit, 6);
    expect(limiter.mode).toBe("redis");
    expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 4],
      [true, 3],
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    for (const decision of decisions) {
      expect(decision.limit).toBe(5);
      expect(decision.resetAt.getTime()).toBeGreaterThanOrEqual(before + 2000);
      expect(decision.resetAt.getTime()).toBeLessThanOrEqual(Date.now() + 2000);
    }
    // The budget is in Redis, under bottleneck's keys.
    const stored = await redis.command<string>("HGET", `b_keyward:${keyId}:5/2_settings`, "reservoir");
    expect(Number(stored)).toBeLessThanOrEqual(0);
  });

  it("refills at resetAt, not before, and the request that starts the new window is counted in it", async () => {
    const limiter = sharedLimiter();
    const keyId = freshKey("refill");
    const limit = { requests: 3, windowSeconds: 1 };
    const spent = await consumeMany(limiter, keyId, limit, 4);
    expect(spent.at(-1)!.allowed).toBe(false);
    const resetAt = spent.at(-1)!.resetAt.getTime();

    await sleep(resetAt - Date.now() - 150);
    let first: RateLimitDecision;
    for (;;) {
      first = await limiter.consume(keyId, limit);
      if (first.allowed) break;
      await sleep(10);
    }
    expect(Date.now()).toBeGreaterThanOrEqual(resetAt);
    // Bottleneck's script refills inside this first call and would overwrite its take: still exactly N.
    const rest = await consumeMany(limiter, keyId, limit, 3);
    expect([first, ...rest].map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    expect(first.resetAt.getTime()).toBeGreaterThanOrEqual(resetAt + 1000);
  });

  it("two app processes on one Redis together allow N, not 2N", async () => {
    const keyId = freshKey("two_processes");
    const env = { ...process.env, REDIS_URL: redis.url, KEY_ID: keyId, REQUESTS: "40", WINDOW_SECONDS: "60", ATTEMPTS: "40" };
    const children = [0, 1].map(() => spawn(process.execPath, ["--import", "tsx", "tests/limits/fixtures/consume-child.ts"], { env }));
    try {
      const outputs = children.map((child) => jsonLines(child));
      const ready = await Promise.all(outputs.map((lines) => lines.next()));
      expect(ready.map((line) => line.value)).toEqual([
        { ready: true, mode: "redis" },
        { ready: true, mode: "redis" },
      ]);
      for (const child of children) child.stdin.write("go\n");
      const results = (await Promise.all(outputs.map((lines) => lines.next()))).map((line) => line.value as { allowed: number; mode: string });
      expectEvery(results, (result) => result.mode === "redis");
      expect(results[0]!.allowed + results[1]!.allowed).toBe(40);
    } finally {
      for (const child of children) child.kill();
    }
  }, 30_000);

  it("shares a changed limit across instances: a new window under the new limit", async () => {
    const a = sharedLimiter();
    const b = sharedLimiter();
    const keyId = freshKey("change");
    expect((await consumeMany(a, keyId, { requests: 2, windowSeconds: 60 }, 3)).map((d) => d.allowed)).toEqual([true, true, false]);
    const raised = { requests: 5, windowSeconds: 60 };
    const fromB = await consumeMany(b, keyId, raised, 3);
    const fromA = await consumeMany(a, keyId, raised, 3);
    expect([...fromB, ...fromA].map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);
    expect(fromA.at(-1)).toMatchObject({ limit: 5, remaining: 0 });
  });

  it("survives FLUSHALL: the limiter whose Redis keys vanished is recreated and keeps limiting", async () => {
    const fallbacks: Error[] = [];
    const limiter = sharedLimiter({ onFallback: (error) => fallbacks.push(error) });
    const keyId = freshKey("flush");
    const limit = { requests: 4, windowSeconds: 60 };
    await consumeMany(limiter, keyId, limit, 3);

    await redis.command("FLUSHALL");
    // Without recreation every call now fails with "ERR SETTINGS_KEY_NOT_FOUND", forever.
    const after = await consumeMany(limiter, keyId, limit, 5);
    expect(after.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 3],
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    expect(limiter.mode).toBe("redis");
    expect(fallbacks).toEqual([]);
    expect(Number(await redis.command<string>("HGET", `b_keyward:${keyId}:4/60_settings`, "reservoir"))).toBeLessThanOrEqual(0);
  });

  it("falls back to local limits when Redis stops (no throw, callback fired, never unlimited) and shares again once it is back", async () => {
    const events: string[] = [];
    const limiter = sharedLimiter({
      redisTimeoutMs: 200,
      probeIntervalMs: 100,
      onFallback: (error) => events.push(`fallback: ${error.message}`),
      onRecover: () => events.push("recovered"),
    });
    const keyId = freshKey("outage");
    const limit = { requests: 3, windowSeconds: 60 };
    expect((await limiter.consume(keyId, limit)).allowed).toBe(true);

    await redis.stop();
    const started = Date.now();
    const during = await consumeMany(limiter, keyId, limit, 4);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(limiter.mode).toBe("fallback");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatch(/^fallback: /);
    // Decided in this process alone, but still limited: N per window, then refused.
    expect(during.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);

    await redis.start();
    await waitFor(() => limiter.mode === "redis", 5_000);
    expect(events).toEqual([events[0], "recovered"]);
    // Shared again: a second instance draws on the same budget (a fresh server: a fresh window).
    const other = sharedLimiter();
    const fromA = await consumeMany(limiter, keyId, limit, 2);
    const fromOther = await consumeMany(other, keyId, limit, 2);
    expect([...fromA, ...fromOther].map((d) => d.allowed)).toEqual([true, true, true, false]);
  }, 20_000);

  it("decides locally within the timeout when Redis is down from the start, and never throws", async () => {
    await redis.stop();
    const fallbacks: Error[] = [];
    const limiter = sharedLimiter({ redisTimeoutMs: 200, probeIntervalMs: 100, onFallback: (error) => fallbacks.push(error) });
    const started = Date.now();
    const decisions = await Promise.all(Array.from({ length: 5 }, () => limiter.consume(freshKey("down"), { requests: 1, windowSeconds: 60 })));
    expect(Date.now() - started).toBeLessThan(1_000);
    expectEvery(decisions, (d) => d.allowed && d.remaining === 0);
    expect(limiter.mode).toBe("fallback");
    expect(fallbacks).toHaveLength(1);
    await redis.start();
    await waitFor(() => limiter.mode === "redis", 5_000);
  }, 15_000);

  it("decides a slow call locally, and falls back when Redis then fails a health check (hung server)", async () => {
    const fallbacks: Error[] = [];
    const limiter = sharedLimiter({ redisTimeoutMs: 100, probeIntervalMs: 60_000, onFallback: (error) => fallbacks.push(error) });
    const keyId = freshKey("hung");
    expect((await limiter.consume(keyId, null)).allowed).toBe(true);
    const sleeping = redis.command("DEBUG", "SLEEP", "1.5");
    await sleep(20);
    const started = Date.now();
    const decision = await limiter.consume(keyId, null);
    expect(Date.now() - started).toBeLessThan(900);
    expect(decision).toMatchObject({ allowed: true, remaining: 999 });
    await waitFor(() => limiter.mode === "fallback", 2_000);
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]!.message).toMatch(/health check/);
    await sleeping;
  });

  it("keeps sharing through Redis when calls are only slow (a burst of new keys) and Redis answers", async () => {
    const fallbacks: Error[] = [];
    // Slow calls (over 5 ms) alone must not cause a fallback; the health check gets a generous 10 s so a
    // loaded CI machine answering PING late is not mistaken for Redis being gone (that case is the test above).
    const limiter = sharedLimiter({ redisTimeoutMs: 5, healthCheckTimeoutMs: 10_000, onFallback: (error) => fallbacks.push(error) });
    const prefix = freshKey("burst");
    const decisions = await Promise.all(Array.from({ length: 300 }, (_, i) => limiter.consume(`${prefix}_${i}`, { requests: 5, windowSeconds: 60 })));
    expectEvery(decisions, (d) => d.allowed && d.remaining === 4);
    // Calls slower than 5 ms were decided by a local limiter, alongside the 300 shared ones.
    expect(limiter.size).toBeGreaterThan(300);
    await sleep(600);
    expect(limiter.mode).toBe("redis");
    expect(fallbacks).toEqual([]);
  });

  it("drops idle limiters and their subscriptions; their Redis keys expire", async () => {
    // Timeouts far above any load: this is about idle limiters going away, not about slow Redis (a
    // call slower than redisTimeoutMs is decided locally and can switch the limiter to fallback).
    const limiter = sharedLimiter({ idleTimeoutMs: 2_000, redisTimeoutMs: 15_000, healthCheckTimeoutMs: 15_000 });
    const limit = { requests: 10, windowSeconds: 1 };
    const prefix = freshKey("idle");
    for (let start = 0; start < 1_000; start += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => limiter.consume(`${prefix}_${start + i}`, limit)));
    }
    expect(limiter.mode).toBe("redis");
    const channels = async () => (await redis.command<string[]>("PUBSUB", "CHANNELS", `b_keyward:${prefix}_*`)).length;
    // Keys idle past the timeout may already be gone while later ones are still being created, and
    // more go while Redis answers: count the channels first, then the limiters still held, which can
    // only have shrunk meanwhile (CI once saw 600 channels for more limiters read before them).
    const subscribed = await channels();
    const held = limiter.size;
    expect(held).toBeGreaterThan(0);
    // Two channels per limiter (the limiter's and this client's).
    expect(subscribed).toBeGreaterThanOrEqual(2 * held);

    await waitFor(() => limiter.size === 0, 15_000);
    // Unsubscribing is asynchronous; on a busy machine it can take a while to reach Redis.
    const deadline = Date.now() + 15_000;
    while ((await channels()) > 0 && Date.now() < deadline) await sleep(50);
    expect(await channels()).toBe(0);
    // TTL = max(idle timeout, window) after the last request.
    await sleep(1_200);
    expect(await redis.command<string[]>("KEYS", `b_keyward:${prefix}_*`)).toEqual([]);
  }, 90_000);

  it("lets the process exit after close() (heartbeats and connections ended)", () => {
    const child = spawnSync(process.execPath, ["--import", "tsx", "tests/limits/fixtures/exit-child.ts"], {
      encoding: "utf8",
      timeout: 15_000,
      env: { ...process.env, REDIS_URL: redis.url },
    });
    expect(child.error).toBeUndefined();
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout.trim())).toEqual({ mode: "redis", size: 5 });
  });
});

/** Parsed JSON lines of a child's stdout, one `next()` per line. */
function jsonLines(child: ChildProcessWithoutNullStreams): AsyncIterator<unknown> {
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async next() {
      const line = await lines.next();
      if (line.done) throw new Error(`child exited early (code ${child.exitCode})`);
      return { done: false, value: JSON.parse(line.value) as unknown };
    },
  };
}
