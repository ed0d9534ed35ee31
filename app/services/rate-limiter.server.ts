import Bottleneck from "bottleneck";
import { Redis } from "ioredis";
import type { RateLimit } from "../../db/schema";
import { logger } from "../lib/logger.server";

/**
 * Per-key rate limits on bottleneck (the user's choice of engine): a local `Bottleneck.Group`
 * without Redis; with a Redis URL, bottleneck's own Redis datastore, so every app instance draws
 * on one budget per key. Each key's limiter is a reservoir of `requests` tokens refilled to full
 * every `windowSeconds` (a fixed window that starts when the previous one has run out).
 *
 * Measured bottleneck defects this module works around (docs/performance-limits.md, ADR 0007):
 * - Over Redis, `schedule()` with `highWater: 0` sometimes queues a race's loser until the next
 *   refill instead of rejecting it: tokens are taken with `incrementReservoir(-cost)` instead.
 * - Its Redis scripts raise `SETTINGS_KEY_NOT_FOUND` / `UNKNOWN_CLIENT`, which it recovers from by
 *   comparing the error text exactly; Redis 7 prefixes `ERR `, so once its keys vanish (expiry,
 *   FLUSHALL, failover) a limiter fails forever. Such a limiter is recreated here.
 * - `updateSettings` on a local limiter stops its refill timer for good, so a changed limit gets a
 *   new limiter (a new window under the new limit) instead.
 * - A `Group`'s idle check looks at the last *scheduled job*, which reservoir-only use never moves:
 *   it would drop busy keys (and their spent budget) every `timeout`. Idle limiters are dropped here.
 * - Redis mode keeps a heartbeat timer and two connections open: `close()` ends them.
 */

export interface RateLimitDecision {
  allowed: boolean;
  /** The window's size in requests. */
  limit: number;
  /** Requests left in the current window after this one. */
  remaining: number;
  /** When the current window ends and the budget is full again. */
  resetAt: Date;
}

/** `local`: no Redis configured. `redis`: shared through Redis. `fallback`: Redis unreachable, deciding per instance. */
export type RateLimiterMode = "local" | "redis" | "fallback";

export interface RateLimiterOptions {
  /** Applies to a key that has no limit of its own. */
  defaultLimit: RateLimit;
  /** `redis://…`: budgets are shared by every instance through Redis. */
  redisUrl?: string;
  /** A key's limiter is dropped after this long without a request (a local one never before its window has ended). @default 60_000 */
  idleTimeoutMs?: number;
  /**
   * The longest a decision waits on Redis before it is made locally. A call that takes longer
   * (a burst of keys new to this instance is slow to set up in bottleneck) is decided locally on its
   * own; only when Redis then fails a health check do all decisions turn local. @default 250
   */
  redisTimeoutMs?: number;
  /** How long the health check's PING may take before Redis counts as gone (at least `redisTimeoutMs`). @default 500 */
  healthCheckTimeoutMs?: number;
  /** How often Redis is tried again while decisions are local. @default 2_000 */
  probeIntervalMs?: number;
  /** Prefix of the limiters' ids, and so of their Redis keys (`b_<id>_…`) and channels. @default "keyward" */
  namespace?: string;
  /** Redis became unreachable: from now on each instance limits on its own (each key gets its full budget per instance). */
  onFallback?: (error: Error) => void;
  /** Redis answers again: budgets are shared again. */
  onRecover?: () => void;
}

/** The longest timer Node allows (~24.8 days): effectively "never" for the group's own idle check. */
const NEVER_MS = 2 ** 31 - 1;

export class RateLimiter {
  private readonly local: LocalLimiters;
  private redis: RedisLimiters | null = null;
  private readonly settings: Required<Omit<RateLimiterOptions, "redisUrl" | "onFallback" | "onRecover">> &
    Pick<RateLimiterOptions, "redisUrl" | "onFallback" | "onRecover">;
  private readonly sweeper: ReturnType<typeof setInterval>;
  private probe?: ReturnType<typeof setTimeout>;
  private probing: Promise<void> = Promise.resolve();
  private checking: Promise<void> | null = null;
  private closed = false;

  constructor(options: RateLimiterOptions) {
    this.settings = {
      ...options,
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
      redisTimeoutMs: options.redisTimeoutMs ?? 250,
      healthCheckTimeoutMs: options.healthCheckTimeoutMs ?? 500,
      probeIntervalMs: options.probeIntervalMs ?? 2_000,
      namespace: options.namespace ?? "keyward",
    };
    this.local = new LocalLimiters(this.settings.idleTimeoutMs);
    if (this.settings.redisUrl) this.useRedis(this.openRedis());
    this.sweeper = setInterval(() => this.sweep(), Math.min(Math.max(this.settings.idleTimeoutMs / 2, 250), 30_000));
    this.sweeper.unref();
  }

  get mode(): RateLimiterMode {
    if (!this.settings.redisUrl) return "local";
    return this.redis ? "redis" : "fallback";
  }

  /** Per-key limiters this instance holds right now (local and Redis-backed). */
  get size(): number {
    return this.local.size + (this.redis?.size ?? 0);
  }

  /**
   * Takes `cost` requests from the key's budget (`limit` null = the default limit). Never rejects
   * and never waits on Redis for more than `redisTimeoutMs`: a slower call is decided locally;
   * when Redis fails (or then fails a health check) every decision is made locally until it
   * answers again. A `cost` above the window's size is never allowed.
   */
  async consume(keyId: string, limit: RateLimit | null, cost = 1): Promise<RateLimitDecision> {
    const effective = limit ?? this.settings.defaultLimit;
    const redis = this.redis;
    if (redis) {
      try {
        return this.count("redis", await withTimeout(redis.take(keyId, effective, cost), this.settings.redisTimeoutMs));
      } catch (error) {
        if (error instanceof TimeoutError) this.checkHealth(redis);
        else this.fallBack(redis, toError(error));
      }
    }
    return this.count(this.settings.redisUrl ? "fallback" : "local", await this.local.take(keyId, effective, cost));
  }

  /**
   * Decisions made so far, by where they were made (`local`: no Redis configured; `redis`;
   * `fallback`: Redis configured but this decision made locally) and outcome. Plain counters,
   * read by the metrics endpoint when it is scraped.
   */
  readonly decisions: Record<"local" | "redis" | "fallback", { allowed: number; refused: number }> = {
    local: { allowed: 0, refused: 0 },
    redis: { allowed: 0, refused: 0 },
    fallback: { allowed: 0, refused: 0 },
  };

  private count(backend: "local" | "redis" | "fallback", decision: RateLimitDecision): RateLimitDecision {
    this.decisions[backend][decision.allowed ? "allowed" : "refused"]++;
    return decision;
  }

  /** Stops the timers, ends the Redis connections (their heartbeats would hold the process open) and drops every limiter. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    clearTimeout(this.probe);
    await Promise.all([this.probing, this.checking]);
    const redis = this.redis;
    this.redis = null;
    await redis?.close();
    await this.local.close();
  }

  private openRedis(): RedisLimiters {
    return new RedisLimiters(this.settings.redisUrl!, { namespace: this.settings.namespace, idleTimeoutMs: this.settings.idleTimeoutMs });
  }

  private useRedis(redis: RedisLimiters): void {
    this.redis = redis;
    // A dropped connection is noticed at once, not only by the next request that waits on it.
    redis.onEnd(() => this.fallBack(redis, new Error("The Redis connection closed")));
  }

  /** A slow call: Redis is busy or gone. One PING at a time tells which. */
  private checkHealth(redis: RedisLimiters): void {
    if (this.checking || this.redis !== redis) return;
    this.checking = withTimeout(redis.ping(), Math.max(this.settings.redisTimeoutMs, this.settings.healthCheckTimeoutMs))
      .catch((error: unknown) => this.fallBack(redis, new Error(`Redis did not answer a health check: ${toError(error).message}`)))
      .finally(() => {
        this.checking = null;
      });
  }

  private fallBack(redis: RedisLimiters, error: Error): void {
    if (this.redis !== redis) return;
    this.redis = null;
    redis.destroy();
    report(() => this.settings.onFallback?.(error));
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.closed) return;
    this.probe = setTimeout(() => {
      this.probing = this.tryRedisAgain();
    }, this.settings.probeIntervalMs);
    this.probe.unref();
  }

  private async tryRedisAgain(): Promise<void> {
    const candidate = this.openRedis();
    try {
      await candidate.ready(Math.max(this.settings.probeIntervalMs, 1_000));
    } catch {
      candidate.destroy();
      this.scheduleProbe();
      return;
    }
    if (this.closed) {
      await candidate.close();
      return;
    }
    this.useRedis(candidate);
    // Budgets are shared again; what each instance counted on its own meanwhile is let go.
    this.local.clear();
    report(() => this.settings.onRecover?.());
  }

  private sweep(): void {
    const now = Date.now();
    this.local.sweep(now);
    this.redis?.sweep(now);
  }
}

/** Bottleneck settings for a key's reservoir. */
function reservoirSettings(limit: RateLimit) {
  return {
    reservoir: limit.requests,
    reservoirRefreshAmount: limit.requests,
    reservoirRefreshInterval: limit.windowSeconds * 1000,
  };
}

/** One limiter per key *and* limit: a changed limit gets a new limiter, i.e. a new window under the new limit. */
const limiterKey = (keyId: string, limit: RateLimit) => `${keyId}:${limit.requests}/${limit.windowSeconds}`;

/**
 * Takes `total` tokens in one call and says what the balance was before. Not enough left for some
 * of them → the caller gives back what it did not use, but only to a positive balance (a balance
 * at or below zero is simply reset by the next refill, so a flood of refused requests costs one
 * call per batch and nothing is given back).
 */
async function takeFromReservoir(limiter: Bottleneck, limit: RateLimit, total: number): Promise<number> {
  let left = await limiter.incrementReservoir(-total);
  // A balance above "full minus this take" means the window refilled inside this very call and the
  // refill overwrote the take (bottleneck's Redis script adds first, then refills): take again.
  if (left > limit.requests - total) left = await limiter.incrementReservoir(-total);
  return left + total;
}

interface PendingTake {
  cost: number;
  resolve(result: { allowed: boolean; remaining: number }): void;
  reject(error: unknown): void;
}

/**
 * Decisions on one limiter, batched: the takes that arrive within one turn of the event loop go to
 * bottleneck (and so to Redis) as one `incrementReservoir`, and are then decided one by one in
 * arrival order against the balance that call found — the same answers, in the same order, as one
 * call each, but one round trip (and one of bottleneck's scripts) per batch instead of per request.
 * Under load a hot key's decisions cost a fraction of what they did (docs/performance-limits.md).
 */
class BatchedReservoir {
  private pending: PendingTake[] = [];

  constructor(
    private readonly limiter: Bottleneck,
    private readonly limit: RateLimit,
  ) {}

  take(cost: number): Promise<{ allowed: boolean; remaining: number }> {
    return new Promise((resolve, reject) => {
      if (this.pending.push({ cost, resolve, reject }) === 1) setImmediate(() => void this.decide());
    });
  }

  private async decide(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const total = batch.reduce((sum, take) => sum + take.cost, 0);
    let before: number;
    try {
      before = await takeFromReservoir(this.limiter, this.limit, total);
    } catch (error) {
      for (const take of batch) take.reject(error);
      return;
    }
    // Each take in turn, as if it had been its own call: what fits is allowed, what does not is refused and spends nothing.
    let budget = Math.max(before, 0);
    let refused = 0;
    for (const take of batch) {
      if (take.cost <= budget) {
        budget -= take.cost;
        take.resolve({ allowed: true, remaining: budget });
      } else {
        refused += take.cost;
        take.resolve({ allowed: false, remaining: budget });
      }
    }
    if (before > 0 && refused > 0) {
      // Refusals are already answered; a failed give-back only leaves the window a little shorter.
      await this.limiter.incrementReservoir(refused).catch(() => undefined);
    }
  }
}

interface LocalEntry {
  groupKey: string;
  limit: RateLimit;
  lastUsed: number;
  limiter: Bottleneck;
  reservoir: BatchedReservoir;
}

/** In-process limiters: a `Bottleneck.Group`, with this module deciding when a key's limiter is idle. */
class LocalLimiters {
  private readonly group = new Bottleneck.Group({ timeout: NEVER_MS });
  private readonly entries = new Map<string, LocalEntry>();

  constructor(private readonly idleTimeoutMs: number) {}

  get size(): number {
    return this.group.keys().length;
  }

  async take(keyId: string, limit: RateLimit, cost: number): Promise<RateLimitDecision> {
    const { limiter, reservoir } = this.entryFor(keyId, limit);
    const { allowed, remaining } = await reservoir.take(cost);
    return { allowed, limit: limit.requests, remaining, resetAt: new Date(localWindowStart(limiter) + limit.windowSeconds * 1000) };
  }

  /** Drops limiters idle for `idleTimeoutMs` and past their window, so dropping one never refunds a spent budget. */
  sweep(now: number): void {
    for (const [keyId, entry] of this.entries) {
      if (now - entry.lastUsed >= Math.max(this.idleTimeoutMs, entry.limit.windowSeconds * 1000)) this.drop(keyId, entry);
    }
  }

  clear(): void {
    for (const [keyId, entry] of this.entries) this.drop(keyId, entry);
  }

  async close(): Promise<void> {
    const dropped = [...this.entries.values()].map((entry) => this.group.deleteKey(entry.groupKey));
    this.entries.clear();
    await Promise.all(dropped);
    await this.group.disconnect(true);
  }

  private entryFor(keyId: string, limit: RateLimit): LocalEntry {
    const groupKey = limiterKey(keyId, limit);
    let entry = this.entries.get(keyId);
    if (entry?.groupKey !== groupKey) {
      if (entry) this.drop(keyId, entry);
      // The group hands new limiters its current options: set this key's reservoir just before creating it.
      this.group.updateSettings(reservoirSettings(limit));
      const limiter = this.group.key(groupKey);
      entry = { groupKey, limit, lastUsed: Date.now(), limiter, reservoir: new BatchedReservoir(limiter, limit) };
      this.entries.set(keyId, entry);
    } else {
      entry.lastUsed = Date.now();
    }
    return entry;
  }

  private drop(keyId: string, entry: LocalEntry): void {
    this.entries.delete(keyId);
    void this.group.deleteKey(entry.groupKey);
  }
}

/**
 * When the local limiter's current window began. Bottleneck refills a local reservoir from a
 * 250 ms heartbeat timer aligned with the window, so the tokens come back a few ms after
 * `start + window` (measured: 1–3 ms). Bottleneck does not expose this value; it is read from
 * its datastore (pinned version 2.19.5; the resetAt tests fail if it moves).
 */
function localWindowStart(limiter: Bottleneck): number {
  return (limiter as unknown as { _store: { _lastReservoirRefresh: number } })._store._lastReservoirRefresh;
}

interface RedisEntry {
  limiter: Bottleneck;
  reservoir: BatchedReservoir;
  /** Bottleneck id: its Redis keys are `b_<id>_settings`, …. */
  id: string;
  limit: RateLimit;
  lastUsed: number;
  /** Start of the window as last read from Redis; re-read once that window is over. */
  windowStart: number | null;
}

interface IORedisConnectionInternals {
  /** A promise in bottleneck 2.19.5 (its typings call it a method). */
  ready: Promise<unknown>;
  subscriber: Redis;
}

/**
 * One Redis connection (a command client and bottleneck's subscriber) and the limiters on it.
 * When Redis fails the whole set is dropped and a new one is opened once Redis answers again:
 * the state lives in Redis, so nothing is lost, and no limiter is left half-started.
 */
class RedisLimiters {
  private readonly client: Redis;
  private readonly connection: Bottleneck.IORedisConnection;
  private readonly limiters = new Map<string, RedisEntry>();

  constructor(
    url: string,
    private readonly options: { namespace: string; idleTimeoutMs: number },
  ) {
    this.client = new Redis(url, {
      // Fail fast: a call never waits for a reconnect; the caller decides locally and a new connection is
      // tried later. How long a call may take is the caller's timeout (a slow call is not a failure).
      connectTimeout: 1_000,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      // Commands issued in the same tick (a burst of decisions) go out in one write: one system call
      // and one Redis read for the batch instead of one per decision.
      enableAutoPipelining: true,
    });
    this.connection = new Bottleneck.IORedisConnection({ client: this.client, Redis });
    // Connection errors reach the callers as failed calls; the event itself needs a listener only.
    this.connection.on("error", () => {});
    guardUnsubscribe(this.internals.subscriber);
  }

  get size(): number {
    return this.limiters.size;
  }

  /** Resolves when both connections are ready; rejects if either ends first or `timeoutMs` passes. */
  async ready(timeoutMs: number): Promise<void> {
    const ended = new Promise<never>((_, reject) => this.onEnd(() => reject(new Error("The Redis connection closed"))));
    await withTimeout(Promise.race([this.internals.ready, ended]), timeoutMs);
  }

  /** Round trip on the subscriber connection (once it is up), which bursts of limiter set-up do not queue behind. */
  async ping(): Promise<void> {
    await this.internals.ready;
    await this.internals.subscriber.ping();
  }

  onEnd(listener: () => void): void {
    this.client.once("end", listener);
    this.internals.subscriber.once("end", listener);
  }

  /**
   * Takes from the key's shared budget. Once its Redis keys are gone (expired, flushed, failed over)
   * bottleneck cannot recover by itself: the limiter is recreated, once, by the first take that
   * finds it so (the others of its batch reuse the new one).
   */
  async take(keyId: string, limit: RateLimit, cost: number, retry = true): Promise<RateLimitDecision> {
    const entry = this.limiterFor(keyId, limit);
    let taken: { allowed: boolean; remaining: number };
    try {
      taken = await entry.reservoir.take(cost);
    } catch (error) {
      if (!retry || !isLostLimiterState(error)) throw error;
      if (this.limiters.get(keyId) === entry) this.drop(keyId, entry);
      return this.take(keyId, limit, cost, false);
    }
    const { allowed, remaining } = taken;
    const windowMs = limit.windowSeconds * 1000;
    const now = Date.now();
    if (entry.windowStart === null || now >= entry.windowStart + windowMs) {
      // Bottleneck refills lazily, inside the first call after the window ended, and stamps the time it did.
      const stamped = await this.client.hget(`b_${entry.id}_settings`, "lastReservoirRefresh");
      entry.windowStart = stamped ? Number(stamped) : now;
    }
    return { allowed, limit: limit.requests, remaining, resetAt: new Date(entry.windowStart + windowMs) };
  }

  /** Drops limiters idle for `idleTimeoutMs`; their Redis keys expire on their own (TTL ≥ the window). */
  sweep(now: number): void {
    for (const [keyId, entry] of this.limiters) {
      if (now - entry.lastUsed >= this.options.idleTimeoutMs) this.drop(keyId, entry);
    }
  }

  /** Abandons the connection at once (Redis is failing): no flush, no unsubscribe round trips. */
  destroy(): void {
    this.limiters.clear();
    void this.connection.disconnect(false);
  }

  async close(): Promise<void> {
    this.limiters.clear();
    if (this.client.status === "ready" && this.internals.subscriber.status === "ready") {
      await this.connection.disconnect(true).catch(() => this.connection.disconnect(false));
    } else {
      await this.connection.disconnect(false);
    }
  }

  private get internals(): IORedisConnectionInternals {
    return this.connection as unknown as IORedisConnectionInternals;
  }

  private limiterFor(keyId: string, limit: RateLimit): RedisEntry {
    const id = `${this.options.namespace}:${limiterKey(keyId, limit)}`;
    let entry = this.limiters.get(keyId);
    if (entry && entry.id !== id) {
      this.drop(keyId, entry);
      entry = undefined;
    }
    if (!entry) {
      const limiter = new Bottleneck({
        id,
        datastore: "ioredis",
        connection: this.connection,
        ...reservoirSettings(limit),
        // Redis TTL of the key's state, renewed by every call: never shorter than its window.
        timeout: Math.max(this.options.idleTimeoutMs, limit.windowSeconds * 1000),
      });
      // Heartbeat failures; the calls that matter report their own errors.
      limiter.on("error", () => {});
      // A limiter that failed to start rejects every call; mark the start promise handled here.
      limiter.ready().catch(() => {});
      entry = { limiter, reservoir: new BatchedReservoir(limiter, limit), id, limit, lastUsed: 0, windowStart: null };
      this.limiters.set(keyId, entry);
    }
    entry.lastUsed = Date.now();
    return entry;
  }

  private drop(keyId: string, entry: RedisEntry): void {
    this.limiters.delete(keyId);
    void entry.limiter.disconnect(false);
  }
}

/**
 * Bottleneck unsubscribes a dropped limiter's channels without awaiting the result, so a failure
 * (Redis going away at that moment) would be an unhandled rejection, which ends the process.
 * Failing to unsubscribe from a connection that is gone needs no handling.
 */
function guardUnsubscribe(subscriber: Redis): void {
  const unsubscribe = subscriber.unsubscribe.bind(subscriber) as (...channels: string[]) => Promise<unknown>;
  (subscriber as unknown as { unsubscribe: (...channels: string[]) => Promise<unknown> }).unsubscribe = (...channels) =>
    unsubscribe(...channels).catch(() => undefined);
}

/** Bottleneck's own recovery for these misses Redis 7's `ERR ` prefix (upstream #205, #212, #219). */
function isLostLimiterState(error: unknown): boolean {
  return error instanceof Error && /(^|\s)(SETTINGS_KEY_NOT_FOUND|UNKNOWN_CLIENT)$/.test(error.message);
}

class TimeoutError extends Error {}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`Redis did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** A failing callback must not turn a decision into a rejection. */
function report(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    logger.error({ err: error }, "Rate limiter callback failed");
  }
}

/** RateLimit-* headers (and Retry-After when refused), for the REST API and tRPC alike. The limiter runs on real time, so `now` is the wall clock. */
export function rateLimitHeaders(decision: RateLimitDecision, now = Date.now()): Record<string, string> {
  const reset = String(Math.max(Math.ceil((decision.resetAt.getTime() - now) / 1000), 0));
  const headers: Record<string, string> = {
    "RateLimit-Limit": String(decision.limit),
    "RateLimit-Remaining": String(Math.max(decision.remaining, 0)),
    "RateLimit-Reset": reset,
  };
  if (!decision.allowed) headers["Retry-After"] = reset;
  return headers;
}
