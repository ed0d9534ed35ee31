/**
 * Rate-limiter benchmark: decisions per second and the latency a decision adds, for one hot key and
 * for 10 000 keys, local (Bottleneck.Group) and over Redis (bottleneck's ioredis datastore), side by side.
 *
 *   npx tsx scripts/bench/limiter.ts            # 3 s per throughput run
 *   BENCH_SECONDS=10 npx tsx scripts/bench/limiter.ts
 *
 * Redis: a private `redis-server` on a free port (no persistence), so nothing shared is touched.
 * Every request is allowed (a limit far above the load), so this measures the take itself.
 */
import os from "node:os";
import { RateLimiter } from "../../app/services/rate-limiter.server";
import { hasRedisServer, startPrivateRedis } from "../../tests/support/redis";
import { printEnvironment } from "../lib/bench-env";
import { measured, recordResults } from "../lib/bench-results";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = 64;
const LATENCY_SAMPLES = 2_000;
const KEYS = 10_000;
const LIMIT = { requests: 1_000_000_000, windowSeconds: 3_600 };

interface Result {
  decisionsPerSecond: number;
  /** One decision at a time: what a request pays when the server is not busy. */
  idle: { p50: number; p99: number };
  /** With CONCURRENCY decisions in flight. */
  loaded: { p50: number; p99: number };
  mode: string;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function measure(limiter: RateLimiter, keyFor: (i: number) => string): Promise<Result> {
  const idle: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const started = performance.now();
    await limiter.consume(keyFor(i), LIMIT);
    idle.push(performance.now() - started);
  }
  idle.sort((a, b) => a - b);

  const loaded: number[] = [];
  let done = 0;
  let next = 0;
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        await limiter.consume(keyFor(next++), LIMIT);
        loaded.push(performance.now() - started);
        done++;
      }
    }),
  );
  loaded.sort((a, b) => a - b);
  return {
    decisionsPerSecond: Math.round(done / SECONDS),
    idle: { p50: percentile(idle, 50), p99: percentile(idle, 99) },
    loaded: { p50: percentile(loaded, 50), p99: percentile(loaded, 99) },
    mode: limiter.mode,
  };
}

/** Creates every key's limiter before measuring: the runs measure decisions, not set-up. */
async function warm(limiter: RateLimiter, keyFor: (i: number) => string, count: number): Promise<void> {
  for (let start = 0; start < count; start += 200) {
    await Promise.all(Array.from({ length: Math.min(200, count - start) }, (_, i) => limiter.consume(keyFor(start + i), LIMIT)));
  }
}

async function scenario(redisUrl: string | undefined, label: string): Promise<Record<string, Result>> {
  const results: Record<string, Result> = {};
  const run = Date.now().toString(36);
  for (const [name, keyFor, count] of [
    ["1 hot key", () => `key_hot_${run}`, 1],
    [`${KEYS.toLocaleString("en")} keys`, (i: number) => `key_many_${run}_${i % KEYS}`, KEYS],
  ] as const) {
    // A generous timeout: a slow decision would otherwise be made locally and hide Redis' cost.
    const limiter = new RateLimiter({ defaultLimit: LIMIT, redisUrl, redisTimeoutMs: 5_000, idleTimeoutMs: 600_000 });
    try {
      await warm(limiter, keyFor, count);
      results[name] = await measure(limiter, keyFor);
      process.stderr.write(`  ${label}, ${name}: done\n`);
    } finally {
      await limiter.close();
    }
  }
  return results;
}

const ms = (value: number) => `${value.toFixed(3)} ms`;

async function main(): Promise<void> {
  printEnvironment("bench:limiter environment", {
    BENCH_SECONDS: process.env.BENCH_SECONDS === undefined ? `unset (${SECONDS})` : String(SECONDS),
    REDIS_URL: "not used (a private redis-server on a free port)",
  });
  const header = measured("npx tsx scripts/bench/limiter.ts");
  console.log(`Rate limiter (bottleneck 2.19.5) — Node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  console.log(`${SECONDS} s per throughput run at ${CONCURRENCY} decisions in flight; ${LATENCY_SAMPLES} sequential decisions for idle latency\n`);

  const local = await scenario(undefined, "local");
  let redis: Record<string, Result> | null = null;
  if (hasRedisServer) {
    const server = await startPrivateRedis();
    try {
      redis = await scenario(server.url, "redis");
    } finally {
      await server.close();
    }
  }

  const rows: string[][] = [["", "decisions/s", "idle p50", "idle p99", `p50 @${CONCURRENCY}`, `p99 @${CONCURRENCY}`, "mode"]];
  for (const [engine, results] of [["local", local], ["redis", redis]] as const) {
    if (!results) {
      rows.push([`${engine}`, "skipped: no redis-server binary", "", "", "", "", ""]);
      continue;
    }
    for (const [name, r] of Object.entries(results)) {
      rows.push([`${engine}, ${name}`, r.decisionsPerSecond.toLocaleString("en"), ms(r.idle.p50), ms(r.idle.p99), ms(r.loaded.p50), ms(r.loaded.p99), r.mode]);
    }
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  "));
  recordResults("limiter", { ...header, engines: { local, redis } });
}

await main();
