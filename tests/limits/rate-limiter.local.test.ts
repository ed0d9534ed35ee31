import { spawnSync } from "node:child_process";
import v8 from "node:v8";
import vm from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { RateLimiter, type RateLimitDecision } from "../../app/services/rate-limiter.server";
import type { RateLimit } from "../../db/schema";
import { expectEvery } from "../support/expect";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let limiters: RateLimiter[] = [];
function localLimiter(options: Partial<ConstructorParameters<typeof RateLimiter>[0]> = {}): RateLimiter {
  const limiter = new RateLimiter({ defaultLimit: { requests: 1000, windowSeconds: 60 }, ...options });
  limiters.push(limiter);
  return limiter;
}

afterEach(async () => {
  await Promise.all(limiters.map((limiter) => limiter.close()));
  limiters = [];
});

/** From `from` on, asks every 10 ms until a request is allowed; returns when that answer arrived. */
async function pollUntilAllowed(limiter: RateLimiter, keyId: string, limit: RateLimit, from: number): Promise<number> {
  await sleep(from - Date.now());
  for (;;) {
    const decision = await limiter.consume(keyId, limit);
    if (decision.allowed) return Date.now();
    await sleep(10);
  }
}

async function consumeMany(limiter: RateLimiter, keyId: string, limit: RateLimit | null, count: number) {
  const decisions: RateLimitDecision[] = [];
  for (let i = 0; i < count; i++) decisions.push(await limiter.consume(keyId, limit));
  return decisions;
}

describe("local rate limiter (no Redis)", () => {
  it("allows exactly N requests per window, then refuses with remaining 0 and the window's end", async () => {
    const limiter = localLimiter();
    const limit = { requests: 5, windowSeconds: 2 };
    const before = Date.now();
    const decisions = await consumeMany(limiter, "key_boundary", limit, 6);
    expect(limiter.mode).toBe("local");
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
  });

  it("refills at resetAt, not before: then a full window again", async () => {
    const limiter = localLimiter();
    const limit = { requests: 3, windowSeconds: 1 };
    const spent = await consumeMany(limiter, "key_refill", limit, 4);
    expect(spent.at(-1)!.allowed).toBe(false);
    const resetAt = spent.at(-1)!.resetAt.getTime();

    const firstAllowedAt = await pollUntilAllowed(limiter, "key_refill", limit, resetAt - 150);
    expect(firstAllowedAt).toBeGreaterThanOrEqual(resetAt);
    expect(firstAllowedAt).toBeLessThan(resetAt + 1_000);
    const rest = await consumeMany(limiter, "key_refill", limit, 3);
    expect(rest.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    expect(rest[0]!.resetAt.getTime()).toBeGreaterThanOrEqual(resetAt + 1000);
  });

  it("keys have budgets of their own, and a key without a limit gets the default", async () => {
    const limiter = localLimiter({ defaultLimit: { requests: 2, windowSeconds: 60 } });
    expect((await consumeMany(limiter, "key_a", null, 3)).map((d) => d.allowed)).toEqual([true, true, false]);
    const other = await limiter.consume("key_b", null);
    expect(other).toMatchObject({ allowed: true, limit: 2, remaining: 1 });
  });

  it("never allows more than N among concurrent requests", async () => {
    const limiter = localLimiter();
    const limit = { requests: 20, windowSeconds: 60 };
    const decisions = await Promise.all(Array.from({ length: 50 }, () => limiter.consume("key_concurrent", limit)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(20);
    expectEvery(decisions.filter((d) => !d.allowed), (d) => d.remaining === 0);
  });

  it("charges a cost; a request that does not fit is refused without spending what is left", async () => {
    const limiter = localLimiter();
    const limit = { requests: 5, windowSeconds: 60 };
    expect(await limiter.consume("key_cost", limit, 3)).toMatchObject({ allowed: true, remaining: 2 });
    expect(await limiter.consume("key_cost", limit, 3)).toMatchObject({ allowed: false, remaining: 2 });
    expect(await limiter.consume("key_cost", limit, 2)).toMatchObject({ allowed: true, remaining: 0 });
    expect(await limiter.consume("key_cost", limit, 1)).toMatchObject({ allowed: false, remaining: 0 });
    expect(await limiter.consume("key_cost_big", limit, 6)).toMatchObject({ allowed: false, remaining: 5 });
  });

  it("applies a changed limit on the key's next request (a new window under the new limit)", async () => {
    const limiter = localLimiter();
    expect((await consumeMany(limiter, "key_change", { requests: 2, windowSeconds: 60 }, 3)).map((d) => d.allowed)).toEqual([true, true, false]);
    const raised = await consumeMany(limiter, "key_change", { requests: 4, windowSeconds: 60 }, 5);
    expect(raised.map((d) => [d.allowed, d.limit, d.remaining])).toEqual([
      [true, 4, 3],
      [true, 4, 2],
      [true, 4, 1],
      [true, 4, 0],
      [false, 4, 0],
    ]);
    const lowered = await consumeMany(limiter, "key_change", { requests: 1, windowSeconds: 60 }, 2);
    expect(lowered.map((d) => d.allowed)).toEqual([true, false]);
    expect(limiter.size).toBe(1);
  });

  it("keeps a spent budget while the key is idle but its window is not over, and while it stays busy", async () => {
    const limiter = localLimiter({ idleTimeoutMs: 100 });
    const limit = { requests: 2, windowSeconds: 10 };
    await consumeMany(limiter, "key_idle", limit, 2);
    await sleep(700); // several sweeps, idle for longer than idleTimeoutMs
    expect((await limiter.consume("key_idle", limit)).allowed).toBe(false);
    for (let i = 0; i < 5; i++) {
      await sleep(120);
      expect((await limiter.consume("key_idle", limit)).allowed).toBe(false);
    }
  });

  it("drops idle limiters: only the keys of about the last second are held, and the heap returns to within 16 MB", async () => {
    const limiter = localLimiter({ idleTimeoutMs: 250 });
    const limit = { requests: 10, windowSeconds: 1 };
    // A local limiter is dropped by the sweep (every 250 ms here) once idle for its window (1 s, longer than the idle timeout).
    const heldForMs = 1000 + 250;
    // Allowance for sweeps run late on a loaded 2-core machine.
    const lateMs = 1000;
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;

    /** When each batch of keys was last used (its end), to bound what may still be held at any moment. */
    const batches: { endedAt: number; keys: number }[] = [];
    const usedSince = (since: number) => batches.filter((b) => b.endedAt >= since).reduce((sum, b) => sum + b.keys, 0);
    let peak = 0;
    const batch = 1_000;
    for (let start = 0; start < 100_000; start += batch) {
      const decisions = await Promise.all(Array.from({ length: batch }, (_, i) => limiter.consume(`key_many_${start + i}`, limit)));
      expectEvery(decisions, (d) => d.allowed && d.remaining === 9);
      batches.push({ endedAt: performance.now(), keys: batch });
      const held = limiter.size;
      peak = Math.max(peak, held);
      expect(held, `held after ${start + batch} keys`).toBeLessThanOrEqual(usedSince(performance.now() - heldForMs - lateMs));
    }
    expect(peak).toBeGreaterThan(0);

    const deadline = Date.now() + 5_000;
    while (limiter.size > 0 && Date.now() < deadline) await sleep(100);
    expect(limiter.size).toBe(0);
    await sleep(50);
    gc();
    const heapAfter = process.memoryUsage().heapUsed;
    console.info(`100 000 keys: at most ${peak} limiters held at once; heap ${((heapAfter - heapBefore) / 1048576).toFixed(1)} MB above the start after expiry`);
    // ~5 KB per live limiter: 100 000 retained would be ~500 MB; measured 2.3 MB, 16 MB allows for GC timing.
    expect(heapAfter - heapBefore).toBeLessThan(16 * 1024 * 1024);
  }, 120_000);

  it("lets the process exit after close()", () => {
    const child = spawnSync(process.execPath, ["--import", "tsx", "tests/limits/fixtures/exit-child.ts"], { encoding: "utf8", timeout: 15_000, env: { ...process.env, REDIS_URL: "" } });
    expect(child.error).toBeUndefined();
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout.trim())).toEqual({ mode: "local", size: 5 });
  });
});
