import { eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimiter } from "../../app/services/rate-limiter.server";
import type { UsageRecorder } from "../../app/services/usage.server";
import { securityEvents, usageMinutes, type RateLimit } from "../../db/schema";
import { createUser } from "../support/keyward";
import { redisTestsRun, startPrivateRedis, type PrivateRedis } from "../support/redis";
import { startApp, type RunningApp } from "../support/server";

/**
 * Redis goes away under steady load, comes back empty, and is then flushed: the per-key rate limits
 * never stop limiting, no request fails, and every answered request is counted. Runs on both
 * backends (the database is the pass's own); Redis is a private server the test may stop and flush.
 */
const LIMITED: RateLimit = { requests: 5, windowSeconds: 600 };
const UNLIMITED: RateLimit = { requests: 1_000_000, windowSeconds: 60 };
const LOOPS = 16;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface LoadKey {
  id: string;
  secret: string;
  limit: RateLimit;
}

interface KeyTally {
  ok: number;
  limited: number;
}

/** What the requests sent during one phase got (a request belongs to the phase it was sent in). */
class Phase {
  readonly perKey = new Map<string, KeyTally>();
  readonly statuses = new Map<number, number>();
  readonly errors: string[] = [];
  readonly latencies: number[] = [];
  private readonly began = performance.now();
  private ended = 0;

  constructor(readonly name: string) {}

  record(keyId: string, status: number, latencyMs: number): void {
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    this.latencies.push(latencyMs);
    const tally = this.perKey.get(keyId) ?? { ok: 0, limited: 0 };
    if (status === 200) tally.ok++;
    if (status === 429) tally.limited++;
    this.perKey.set(keyId, tally);
  }

  end(): void {
    this.ended = performance.now();
  }

  summary(): string {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
    const seconds = (this.ended - this.began) / 1000;
    const statuses = [...this.statuses].map(([status, n]) => `${status}×${n}`).join(" ");
    return (
      `[redis outage] ${this.name.padEnd(14)} ${seconds.toFixed(1)} s, ${this.latencies.length} requests (${Math.round(this.latencies.length / seconds)}/s): ` +
      `${statuses}, errors ${this.errors.length}; latency p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`
    );
  }
}

describe.skipIf(!redisTestsRun)("Redis outage under load", { timeout: 90_000 }, () => {
  let redis: PrivateRedis;
  let app: RunningApp;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    app = await startApp({ env: { REDIS_URL: redis.url, KEYWARD_USAGE_FLUSH_MS: "500" } });
  });

  afterAll(async () => {
    await app?.close();
    await redis?.close();
  });

  it("stopped, restarted empty, then flushed: no failed request, limited keys stay limited, limits shared again, usage exact", async () => {
    const limiter = app.keyward.limiter as RateLimiter;
    const { db } = app.keyward.database;
    const owner = await createUser(app.keyward, "member");
    const keys: LoadKey[] = [];
    for (const [index, limit] of [LIMITED, LIMITED, LIMITED, UNLIMITED, UNLIMITED, UNLIMITED].entries()) {
      const created = await app.keyward.keys.create(owner.actor, { name: `load ${index}`, scopes: ["read"], rateLimit: limit });
      keys.push({ id: created.apiKey.id, secret: created.key, limit });
    }
    const limited = keys.filter((key) => key.limit === LIMITED);
    const unlimited = keys.filter((key) => key.limit === UNLIMITED);

    const phases: Phase[] = [];
    let phase = new Phase("shared");
    phases.push(phase);
    const begin = (name: string) => {
      phase.end();
      phase = new Phase(name);
      phases.push(phase);
    };
    let running = true;
    const loop = async (key: LoadKey) => {
      while (running) {
        const sentIn = phase;
        const started = performance.now();
        try {
          const response = await fetch(`${app.url}/api/v1/me`, { headers: { Authorization: `Bearer ${key.secret}` } });
          await response.arrayBuffer();
          sentIn.record(key.id, response.status, performance.now() - started);
        } catch (error) {
          sentIn.errors.push(String((error as Error & { cause?: unknown }).cause ?? error));
          await sleep(50);
        }
      }
    };
    const loops = Array.from({ length: LOOPS }, (_, i) => loop(keys[i % keys.length]!));

    /**
     * Budgets a limited key may have drawn on so far, `requests` each per window (the limiter's guarantee):
     * every Redis state (fresh at the start, after the restart, after FLUSHALL) and every local one — the
     * first (fallback, and calls too slow for Redis), then a new one after each recovery.
     */
    let redisStates = 1;
    const limiterEvents = async (kind: "rate_limiter_fallback" | "rate_limiter_recovered") => {
      await app.keyward.securityEvents.flush();
      const [row] = await db
        .select({ n: sql<number>`count(*)`.mapWith(Number) })
        .from(securityEvents)
        .where(eq(securityEvents.kind, kind));
      return row!.n;
    };
    const allowedSoFar = (keyId: string) => phases.reduce((sum, p) => sum + (p.perKey.get(keyId)?.ok ?? 0), 0);
    const checkLimited = async () => {
      const budgets = redisStates + 1 + (await limiterEvents("rate_limiter_recovered"));
      for (const key of limited) {
        // Limited in this phase too: refusals, and never more allowed than the budgets it could draw on.
        expect(phase.perKey.get(key.id)?.limited, `${phase.name}: 429s of ${key.id}`).toBeGreaterThan(0);
        expect(allowedSoFar(key.id), `${phase.name}: allowed so far for ${key.id}`).toBeLessThanOrEqual(LIMITED.requests * budgets);
      }
    };
    /** Another instance on the same Redis finds the key's budget spent by the app: the limit is shared. */
    const checkShared = async () => {
      const other = new RateLimiter({ defaultLimit: UNLIMITED, redisUrl: redis.url, redisTimeoutMs: 10_000, healthCheckTimeoutMs: 10_000 });
      try {
        for (const key of limited) {
          const reservoir = await redis.command<string | null>("HGET", `b_keyward:${key.id}:${LIMITED.requests}/${LIMITED.windowSeconds}_settings`, "reservoir");
          expect(reservoir, `${phase.name}: the budget of ${key.id} in Redis`).not.toBeNull();
          expect(Number(reservoir)).toBeLessThanOrEqual(0);
          expect(await other.consume(key.id, LIMITED)).toMatchObject({ allowed: false, remaining: 0 });
        }
        expect(other.mode).toBe("redis");
      } finally {
        await other.close();
      }
    };
    /** Load for at least `ms`, then on until every limited key has been refused in this phase (a busy machine answers slowly). */
    const hold = async (ms: number) => {
      await sleep(ms);
      const started = performance.now();
      while (limited.some((key) => !phase.perKey.get(key.id)?.limited) && performance.now() - started < 20_000) await sleep(50);
    };
    /** Back to sharing through Redis; also after a health check a busy machine answered late (decisions are local meanwhile). */
    const waitForRedisMode = async (timeoutMs: number) => {
      const started = performance.now();
      while (limiter.mode !== "redis") {
        if (performance.now() - started > timeoutMs) throw new Error(`the limiter did not share through Redis again within ${timeoutMs} ms`);
        await sleep(50);
      }
      return performance.now() - started;
    };

    try {
      await hold(2500);
      await waitForRedisMode(10_000);
      await checkLimited();
      await checkShared();

      await redis.stop();
      begin("redis stopped");
      await hold(3000);
      expect(limiter.mode).toBe("fallback");
      await checkLimited();
      // Only the local budget is left while Redis is down.
      for (const key of limited) expect(phase.perKey.get(key.id)!.ok).toBeLessThanOrEqual(LIMITED.requests);

      begin("restarted");
      await redis.start();
      redisStates++;
      const recoveredMs = await waitForRedisMode(15_000);
      console.log(`[redis outage] limits shared through Redis again ${Math.round(recoveredMs)} ms after it accepted connections`);
      await hold(2000);
      await checkLimited();
      await checkShared();

      begin("flushed");
      await redis.command("FLUSHALL");
      redisStates++;
      await hold(3000);
      await waitForRedisMode(10_000);
      await checkLimited();
      await checkShared();
    } finally {
      running = false;
      await Promise.all(loops);
      phase.end();
      for (const p of phases) console.log(p.summary());
    }

    for (const p of phases) {
      expect(p.errors, `${p.name}: failed requests`).toEqual([]);
      expect([...p.statuses.keys()].filter((status) => status !== 200 && status !== 429), `${p.name}: other statuses`).toEqual([]);
      for (const key of unlimited) expect(p.perKey.get(key.id)?.limited ?? 0, `${p.name}: 429s of an unlimited key`).toBe(0);
    }
    const allowedIn = (p: Phase) => limited.map((key) => p.perKey.get(key.id)?.ok ?? 0).join("/");
    console.log(
      `[redis outage] allowed per limited key (limit ${LIMITED.requests}/${LIMITED.windowSeconds}s, ${redisStates} Redis states, ` +
        `${await limiterEvents("rate_limiter_fallback")} fallbacks, ${await limiterEvents("rate_limiter_recovered")} recoveries): ` +
        `${phases.map((p) => `${p.name} ${allowedIn(p)}`).join(", ")}; whole run ${limited.map((key) => allowedSoFar(key.id)).join("/")}`,
    );

    // Every answered request is counted, by outcome.
    await (app.keyward.usage as UsageRecorder).flush();
    const counted = await db
      .select({
        keyId: usageMinutes.keyId,
        requests: sql<number>`sum(${usageMinutes.requests})`.mapWith(Number),
        success: sql<number>`sum(${usageMinutes.success})`.mapWith(Number),
        rateLimited: sql<number>`sum(${usageMinutes.rateLimited})`.mapWith(Number),
        errors: sql<number>`sum(${usageMinutes.errors})`.mapWith(Number),
      })
      .from(usageMinutes)
      .where(inArray(usageMinutes.keyId, keys.map((key) => key.id)))
      .groupBy(usageMinutes.keyId);
    const received = keys.map((key) => {
      const ok = phases.reduce((sum, p) => sum + (p.perKey.get(key.id)?.ok ?? 0), 0);
      const refused = phases.reduce((sum, p) => sum + (p.perKey.get(key.id)?.limited ?? 0), 0);
      return { keyId: key.id, requests: ok + refused, success: ok, rateLimited: refused, errors: 0 };
    });
    expect(counted.sort((a, b) => a.keyId.localeCompare(b.keyId))).toEqual(received.sort((a, b) => a.keyId.localeCompare(b.keyId)));
  });
});
