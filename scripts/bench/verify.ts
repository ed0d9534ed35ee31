/**
 * Key verification micro-benchmark, in process (no HTTP), on keys issued for an API (root keys
 * verify INVALID), as `keyward.verifier.verify(key, { caller, apiId, permissions })` answers a
 * service's POST /api/v1/verify:
 *   1. a cached key: format + checksum + HMAC digest + LRU hit + expiry, API, permission and rate-limit
 *      checks (target ≤ 10 µs median);
 *   2. a cache miss against a database holding BENCH_KEYS issued keys: the digest lookup through the
 *      unique index joined to the owner, API and identity, then the same checks (target p99 ≤ 2 ms).
 *
 *   npm run bench:verify                                                  # embedded PGlite, 1 000 000 keys
 *   BENCH_KEYS=10000 npm run bench:verify                                 # shorter
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:verify   # PostgreSQL
 *
 * BENCH_DATABASE_URL (or else DATABASE_URL) names a PostgreSQL server: the benchmark creates a database
 * of its own there (dropped at the end). Without either it runs on a temporary PGlite data directory
 * (removed at the end). Nothing shared is touched. REDIS_URL is not used: the rate-limit check is this
 * process's own limiter.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { count as countRows, eq, sql } from "drizzle-orm";
import { loadConfig } from "../../app/config.server";
import { sessionActor, systemActor } from "../../app/services/actor.server";
import { BulkSeedService } from "../../app/services/bulk-seed.server";
import { createKeyward } from "../../app/services/keyward.server";
import { KeyVerifier, VerificationCache } from "../../app/services/verification-cache.server";
import { openDatabase } from "../../db/client.server";
import { apiKeys } from "../../db/schema";
import { createPostgresDatabase, describeBackend, printEnvironment } from "../lib/bench-env";
import { measured as measuredNow, recordResults } from "../lib/bench-results";
import { table } from "../lib/format";

const SERVER_URL = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
const SEEDED = Number(process.env.BENCH_KEYS ?? 1_000_000);
const HIT_SAMPLES = 200_000;
const MISS_SAMPLES = 5_000;
/** A budget the benchmark cannot exhaust: verify still takes a token per call, it never says no. */
const UNLIMITED = { requests: 100_000_000, windowSeconds: 60 };

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const micros = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
const millis = (ms: number) => `${ms.toFixed(3)} ms`;

/** Where the keys live: a database of the benchmark's own on SERVER_URL's server, or a PGlite directory. */
async function createDatabase(): Promise<{ databaseUrl?: string; dataDir?: string; drop(): Promise<void> }> {
  if (!SERVER_URL) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-bench-verify-"));
    return { dataDir, drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
  }
  const database = await createPostgresDatabase(SERVER_URL);
  return { databaseUrl: database.url, drop: () => database.drop() };
}

async function main(): Promise<void> {
  if (!Number.isInteger(SEEDED) || SEEDED < MISS_SAMPLES) throw new Error(`BENCH_KEYS must be a whole number ≥ ${MISS_SAMPLES} (the keys measured on a miss)`);
  const target = await createDatabase();
  printEnvironment("bench:verify environment", {
    BENCH_DATABASE_URL: process.env.BENCH_DATABASE_URL,
    DATABASE_URL: process.env.DATABASE_URL,
    BENCH_KEYS: process.env.BENCH_KEYS === undefined ? `unset (${SEEDED})` : String(SEEDED),
    ...describeBackend({ databaseUrl: target.databaseUrl, dataDir: target.dataDir }),
  });
  const config = loadConfig({
    NODE_ENV: "production",
    ...(target.databaseUrl ? { DATABASE_URL: target.databaseUrl } : {}),
    KEYWARD_SECRET: crypto.randomBytes(32).toString("base64"),
    KEYWARD_ENCRYPTION_KEY: crypto.randomBytes(32).toString("base64"),
    KEYWARD_DATA_DIR: target.dataDir ?? os.tmpdir(),
  });
  const handle = await openDatabase(config.database.kind === "postgres" ? { ...config.database, max: 4 } : config.database);
  const keyward = await createKeyward({ config, database: handle });
  try {
    const system = systemActor("bench");
    const owner = await keyward.users.create(system, { email: "bench@example.test", password: crypto.randomBytes(16).toString("hex"), role: "member" });
    // The service's root key belongs to the API's owner: verify answers it about that API's keys.
    const caller = sessionActor(owner);
    const api = await keyward.apis.create(system, { name: "bench", prefix: "bench" }, { ownerId: owner.id });
    const identity = await keyward.identities.create(system, { apiId: api.id, externalId: "bench-customer" });
    const backend = handle.kind === "postgres" ? "PostgreSQL" : "embedded PGlite";

    process.stderr.write(`Seeding ${SEEDED.toLocaleString("en")} keys issued for ${api.id} (${api.prefix}_…)…\n`);
    const seedStarted = performance.now();
    // Realistic digests (64 hex characters, uniformly spread) for the bulk; the measured keys below are real.
    await handle.db.execute(sql`
      insert into api_keys (id, owner_id, name, start, last4, digest, digest_version, scopes, api_id, permissions, created_at, updated_at)
      select 'key_' || lpad(g::text, 20, '0'), ${owner.id}, 'seeded ' || g, ${`${api.prefix}_seed`}, 'seed',
             encode(sha256(('seed-' || g)::bytea), 'hex'), 1, '{}', ${api.id}, '{read}', now(), now()
      from generate_series(1, ${SEEDED - MISS_SAMPLES}::int) g`);
    const bulk = new BulkSeedService({ db: handle.db, clock: keyward.clock, secrets: config.digestSecrets });
    const now = keyward.clock.now();
    const { kept } = await bulk.insertKeys(system, {
      count: MISS_SAMPLES,
      spec: () => ({
        ownerId: owner.id,
        name: "measured",
        scopes: [],
        apiId: api.id,
        identityId: identity.id,
        permissions: ["read"],
        rateLimit: UNLIMITED,
        createdAt: now,
        expiresAt: null,
        disabledAt: null,
        revokedAt: null,
      }),
      keep: () => true,
      plaintext: true,
    });
    const measured = kept.map(({ key }) => key!);
    await bulk.analyze();
    const [{ seeded: count } = { seeded: 0 }] = await handle.db.select({ seeded: countRows() }).from(apiKeys).where(eq(apiKeys.apiId, api.id));
    process.stderr.write(`Seeded ${count.toLocaleString("en")} keys in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s\n`);

    const options = { caller, apiId: api.id, permissions: ["read"] };
    const loadBefore = os.loadavg()[0]!.toFixed(2);
    const header = measuredNow(`${SERVER_URL ? "BENCH_DATABASE_URL=… " : ""}BENCH_KEYS=${SEEDED} npm run bench:verify`);
    // 1. Cache hit: the app's own verifier, its cache warmed with one key.
    const hot = measured[0]!;
    for (let i = 0; i < 20_000; i++) await keyward.verifier.verify(hot, options);
    const hits: number[] = new Array(HIT_SAMPLES);
    for (let i = 0; i < HIT_SAMPLES; i++) {
      const started = performance.now();
      const result = await keyward.verifier.verify(hot, options);
      hits[i] = performance.now() - started;
      if (result.code !== "VALID") throw new Error(`cached key came back ${result.code}`);
    }
    hits.sort((a, b) => a - b);

    // 2. Cache miss: a verifier whose cache never stores, over keys never seen before, with the app's limiter.
    const cold = new KeyVerifier({
      keys: keyward.keys,
      secrets: config.digestSecrets,
      clock: keyward.clock,
      cache: new VerificationCache({ maxEntries: 0, ttlMs: 0 }),
      limiter: keyward.limiter,
    });
    for (const key of measured.slice(-200)) await cold.verify(key, options); // warm the connection and plan
    const misses: number[] = [];
    for (const key of measured) {
      const started = performance.now();
      const result = await cold.verify(key, options);
      misses.push(performance.now() - started);
      if (result.code !== "VALID") throw new Error(`seeded key came back ${result.code}`);
    }
    misses.sort((a, b) => a - b);

    const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
    process.stdout.write(
      `\nKey verification of issued keys, in process (${os.cpus().length} CPUs, Node ${process.version}, ${backend} with ${count.toLocaleString("en")} keys of one API, load average before ${loadBefore})\n\n` +
        table(
          ["case", "samples", "p50", "p99", "max", "target"],
          [
            ["cached key (hit)", String(HIT_SAMPLES), micros(percentile(hits, 50)), micros(percentile(hits, 99)), micros(hits.at(-1)!), `median ≤ 10 µs: ${verdict(percentile(hits, 50) <= 0.01)}`],
            [`cache miss (${backend})`, String(MISS_SAMPLES), millis(percentile(misses, 50)), millis(percentile(misses, 99)), millis(misses.at(-1)!), `p99 ≤ 2 ms: ${verdict(percentile(misses, 99) <= 2)}`],
          ],
        ) +
        "\n",
    );
    const summary = (sorted: number[]) => ({ p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1)! });
    recordResults("verify", { [SERVER_URL ? "postgres" : "pglite"]: { ...header, backend: SERVER_URL ? "postgres" : "pglite", keys: count, hit: summary(hits), miss: summary(misses) } }, { merge: true });
  } finally {
    await keyward.close();
    await handle.close();
    await target.drop();
  }
}

await main();
