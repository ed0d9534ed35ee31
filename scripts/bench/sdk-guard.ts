/**
 * The SDK's costs, measured:
 *   1. keywardGuard on a cached key, in process: header read, format + CRC-32 check, SHA-256 of
 *      the key, cache hit (target ≤ 20 µs median);
 *   2. `verify` through the SDK against a local Keyward (`node build/server.js`, its own process,
 *      embedded database, no Redis): client → HTTP → tRPC → verifier (cached server-side) → back (p50/p99);
 *   3. the guard on a cache miss (cacheTtlMs: 0), i.e. 2 plus the guard's own work;
 *   4. what `pacing: true` adds to a call, in process: `me()` against a fetch stub that answers at
 *      once with a large RateLimit budget, pacing off vs on (the client's own work, no network).
 *
 *   npm run build && npm run bench:sdk-guard        (BENCH_SAMPLES=… for more round trips)
 *
 * The caller's key is issued for an API the client's root key owns, and the guard and `verify` ask for
 * that API and the `read` permission (root keys verify INVALID). The server gets a fresh data directory
 * under the OS temp dir (removed at the end), and no DATABASE_URL or REDIS_URL; nothing shared is touched.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../app/config.server";
import { systemActor } from "../../app/services/actor.server";
import { createKeyward as createServices } from "../../app/services/keyward.server";
import { openDatabase } from "../../db/client.server";
import { createKeyward, keywardGuard } from "../../sdk/src/index";
import { describeBackend, printEnvironment } from "../lib/bench-env";
import { measured, recordResults } from "../lib/bench-results";
import { table } from "../lib/format";
import { startServerProcess, type ServerProcess } from "../lib/server-process";

const HIT_SAMPLES = 200_000;
const WARMUP = 20_000;
const ROUND_TRIPS = Number(process.env.BENCH_SAMPLES ?? 2_000);
const PACING_SAMPLES = 10_000;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const micros = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
const millis = (ms: number) => `${ms.toFixed(3)} ms`;

async function measure(samples: number, task: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await task();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-bench-sdk-"));
  const env = {
    NODE_ENV: "production" as const,
    KEYWARD_DATA_DIR: dataDir,
    KEYWARD_SECRET: crypto.randomBytes(32).toString("base64"),
    KEYWARD_ENCRYPTION_KEY: crypto.randomBytes(32).toString("base64"),
    KEYWARD_LOG_LEVEL: "warn",
  };
  printEnvironment("bench:sdk-guard environment (the server's too)", {
    BENCH_SAMPLES: process.env.BENCH_SAMPLES === undefined ? `unset (${ROUND_TRIPS})` : String(ROUND_TRIPS),
    ...describeBackend({ dataDir }),
  });

  // Seed a user, their root key, an API and a key issued for it, then close the data directory: PGlite allows one process.
  const config = loadConfig(env);
  const database = await openDatabase(config.database);
  const services = await createServices({ config, database });
  const owner = await services.users.create(systemActor("bench"), { email: "bench@example.test", password: crypto.randomBytes(16).toString("hex"), role: "member" });
  const unlimited = { requests: 1_000_000, windowSeconds: 60 };
  const { key: clientKey } = await services.keys.create(systemActor("bench"), { name: "bench client", scopes: ["read"], ownerId: owner.id, rateLimit: unlimited });
  const api = await services.apis.create(systemActor("bench"), { name: "bench", prefix: "bench" }, { ownerId: owner.id });
  // No limits and no credits: the only kind of key the guard answers from its cache (a limited or
  // metered key is verified by Keyward on every request, docs/decisions/0021-guard-invariants.md).
  const { key: callerKey } = await services.keys.createIssued(systemActor("bench"), api.id, { name: "bench caller", permissions: ["read"], rateLimit: null });
  const verified = { apiId: api.id, permissions: ["read"] };
  await services.close();
  await database.close();

  let server: ServerProcess | undefined;
  try {
    server = await startServerProcess(env);
    const baseUrl = server.url;
    const client = createKeyward({ baseUrl, apiKey: clientKey, retries: 0 });
    const request = new Request("https://api.example.test/orders", { headers: { Authorization: `Bearer ${callerKey}` } });

    // 1. Cached key.
    const guard = keywardGuard({ client, ...verified, cacheTtlMs: 3_600_000 });
    const first = await guard(request);
    if (!first.ok) throw new Error(`the caller key was refused: ${first.code}`, { cause: first.error });
    for (let i = 0; i < WARMUP; i++) await guard(request);
    const hits = await measure(HIT_SAMPLES, () => guard(request));
    const batchStarted = performance.now();
    for (let i = 0; i < HIT_SAMPLES; i++) await guard(request);
    const hitMean = (performance.now() - batchStarted) / HIT_SAMPLES;

    // 2. verify through the SDK, end to end. Phase 1 ran on microtasks alone for seconds: the event
    // loop never polled I/O, so the server's close of the idle keep-alive socket went unseen and the
    // next request would go out on it ("other side closed"). One macrotask lets the pool see it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const verdict = await client.verify({ key: callerKey, ...verified });
    if (!verdict.valid) throw new Error(`verify refused the caller key: ${verdict.code}`);
    for (let i = 0; i < 200; i++) await client.verify({ key: callerKey, ...verified });
    const verifies = await measure(ROUND_TRIPS, () => client.verify({ key: callerKey, ...verified }));

    // 3. The guard without its cache.
    const uncached = keywardGuard({ client, ...verified, cacheTtlMs: 0 });
    const misses = await measure(ROUND_TRIPS, () => uncached(request));
    // The cached admissions are reported to Keyward (batched); send the last ones before the server stops.
    await Promise.all([guard.close(), uncached.close()]);

    // 4. Pacing overhead, against a stub that answers at once with budget to spare.
    const stub = async () =>
      new Response(JSON.stringify({ result: { data: { user: { id: owner.id, email: owner.email, role: owner.role }, keyId: null, scopes: ["read"] } } }), {
        headers: { "Content-Type": "application/json", "RateLimit-Limit": "1000000", "RateLimit-Remaining": "999999", "RateLimit-Reset": "60" },
      });
    const paced: Record<string, number[]> = {};
    for (const pacing of [false, true]) {
      const stubbed = createKeyward({ baseUrl, apiKey: clientKey, fetch: stub, pacing });
      for (let i = 0; i < 1_000; i++) await stubbed.me();
      paced[String(pacing)] = await measure(PACING_SAMPLES, () => stubbed.me());
    }

    const header = measured("npm run bench:sdk-guard");
    const load = os.loadavg()[0]!.toFixed(1);
    console.log(`\nNode ${process.version}, ${os.cpus().length} cores, load average ${load} at the end\n`);
    console.log(
      table(
        ["", "samples", "p50", "p99", "mean"],
        [
          ["guard, cached key (in process)", HIT_SAMPLES.toLocaleString("en"), micros(percentile(hits, 50)), micros(percentile(hits, 99)), micros(hitMean)],
          ["client.verify → local server", ROUND_TRIPS.toLocaleString("en"), millis(percentile(verifies, 50)), millis(percentile(verifies, 99)), millis(verifies.reduce((a, b) => a + b, 0) / verifies.length)],
          ["guard, cache off (verify each time)", ROUND_TRIPS.toLocaleString("en"), millis(percentile(misses, 50)), millis(percentile(misses, 99)), millis(misses.reduce((a, b) => a + b, 0) / misses.length)],
          ...[false, true].map((pacing) => {
            const times = paced[String(pacing)]!;
            return [`client call, stub fetch, pacing ${pacing ? "on" : "off"}`, PACING_SAMPLES.toLocaleString("en"), micros(percentile(times, 50)), micros(percentile(times, 99)), micros(times.reduce((a, b) => a + b, 0) / times.length)];
          }),
        ],
      ),
    );
    const target = percentile(hits, 50) * 1000 <= 20;
    console.log(`\nguard on a cached key: median ${micros(percentile(hits, 50))} — target ≤ 20 µs ${target ? "met" : "MISSED"}`);
    const summary = (times: number[], mean = times.reduce((a, b) => a + b, 0) / times.length) => ({ p50: percentile(times, 50), p99: percentile(times, 99), mean });
    recordResults("sdkGuard", {
      ...header,
      guardCached: summary(hits, hitMean),
      verifyRoundTrip: summary(verifies),
      guardUncached: summary(misses),
      pacingOff: summary(paced.false!),
      pacingOn: summary(paced.true!),
    });
  } finally {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
