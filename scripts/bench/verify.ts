/**
 * Key verification micro-benchmark, in process (no HTTP):
 *   1. a cached key: format + checksum + HMAC digest + LRU hit + expiry check (target ≤ 10 µs median);
 *   2. a cache miss against PostgreSQL holding 1 000 000 keys: the digest lookup through the unique
 *      index joined to the owner, as the middleware does it on a miss (target p99 ≤ 2 ms).
 *
 *   npm run bench:verify
 *   BENCH_DATABASE_URL=postgres://… BENCH_KEYS=1000000 npm run bench:verify
 *
 * It creates a database of its own on that server (dropped at the end), so nothing shared is touched.
 */
import crypto from "node:crypto";
import os from "node:os";
import postgres from "postgres";
import { loadConfig } from "../../app/config.server";
import { generateKey, displayParts } from "../../app/lib/key-format";
import { systemActor } from "../../app/services/actor.server";
import { createKeyward } from "../../app/services/keyward.server";
import { digestKey } from "../../app/services/secrets.server";
import { KeyVerifier, VerificationCache } from "../../app/services/verification-cache.server";
import { openDatabase } from "../../db/client.server";
import { table } from "../lib/format";

const SERVER_URL = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const SEEDED = Number(process.env.BENCH_KEYS ?? 1_000_000);
const HIT_SAMPLES = 200_000;
const MISS_SAMPLES = 5_000;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const micros = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
const millis = (ms: number) => `${ms.toFixed(3)} ms`;

async function main(): Promise<void> {
  const name = `keyward_bench_${crypto.randomBytes(4).toString("hex")}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const secret = crypto.randomBytes(32);
  const config = loadConfig({
    NODE_ENV: "production",
    DATABASE_URL: url.toString(),
    KEYWARD_SECRET: secret.toString("base64"),
    KEYWARD_ENCRYPTION_KEY: crypto.randomBytes(32).toString("base64"),
    KEYWARD_DATA_DIR: os.tmpdir(),
  });
  const handle = await openDatabase({ kind: "postgres", url: url.toString(), max: 4 });
  const keyward = await createKeyward({ config, database: handle });
  try {
    const system = systemActor("bench");
    const owner = await keyward.users.create(system, { email: "bench@example.test", password: crypto.randomBytes(16).toString("hex"), role: "admin" });

    process.stderr.write(`Seeding ${SEEDED.toLocaleString("en")} keys into ${name}…\n`);
    const seedStarted = performance.now();
    const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
    // Realistic digests (64 hex characters, uniformly spread) for the bulk; the measured keys below are real.
    await sql`
      insert into api_keys (id, owner_id, name, start, last4, digest, digest_version, scopes, created_at, updated_at)
      select 'key_' || lpad(g::text, 20, '0'), ${owner.id}, 'seeded ' || g, 'kw_seed', 'seed',
             encode(sha256(('seed-' || g)::bytea), 'hex'), 1, '{read}', now(), now()
      from generate_series(1, ${SEEDED - MISS_SAMPLES}) g`;
    const measured = Array.from({ length: MISS_SAMPLES }, (_, i) => {
      const key = generateKey();
      return { id: `key_m${String(i).padStart(19, "0")}`, key, digest: digestKey(key, secret) };
    });
    for (let i = 0; i < measured.length; i += 1000) {
      const rows = measured.slice(i, i + 1000).map(({ id, key, digest }) => ({
        id,
        owner_id: owner.id,
        name: "measured",
        ...displayParts(key),
        digest,
        digest_version: 1,
        scopes: ["read"],
      }));
      await sql`insert into api_keys ${sql(rows, "id", "owner_id", "name", "start", "last4", "digest", "digest_version", "scopes")}`;
    }
    await sql`analyze api_keys`;
    const [row] = await sql<{ count: string }[]>`select count(*)::text as count from api_keys`;
    const count = Number(row!.count);
    await sql.end();
    process.stderr.write(`Seeded ${count.toLocaleString("en")} keys in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s\n`);

    const loadBefore = os.loadavg()[0]!.toFixed(2);
    // 1. Cache hit: the app's own verifier, its cache warmed with one key.
    const hot = measured[0]!.key;
    await keyward.verifier.authenticate(hot);
    for (let i = 0; i < 20_000; i++) await keyward.verifier.authenticate(hot);
    const hits: number[] = new Array(HIT_SAMPLES);
    for (let i = 0; i < HIT_SAMPLES; i++) {
      const started = performance.now();
      const result = await keyward.verifier.authenticate(hot);
      hits[i] = performance.now() - started;
      if (result.code !== "VALID") throw new Error(`cached key came back ${result.code}`);
    }
    hits.sort((a, b) => a - b);

    // 2. Cache miss: a verifier whose cache never stores, over keys never seen before.
    const cold = new KeyVerifier({ keys: keyward.keys, secrets: config.digestSecrets, clock: keyward.clock, cache: new VerificationCache({ maxEntries: 0, ttlMs: 0 }) });
    for (const { key } of measured.slice(-200)) await cold.authenticate(key); // warm the connection and plan
    const misses: number[] = [];
    for (const { key } of measured) {
      const started = performance.now();
      const result = await cold.authenticate(key);
      misses.push(performance.now() - started);
      if (result.code !== "VALID") throw new Error(`seeded key came back ${result.code}`);
    }
    misses.sort((a, b) => a - b);

    const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
    process.stdout.write(
      `\nKey verification, in process (${os.cpus().length} CPUs, Node ${process.version}, PostgreSQL with ${count.toLocaleString("en")} keys, load average before ${loadBefore})\n\n` +
        table(
          ["case", "samples", "p50", "p99", "max", "target"],
          [
            ["cached key (hit)", String(HIT_SAMPLES), micros(percentile(hits, 50)), micros(percentile(hits, 99)), micros(hits.at(-1)!), `median ≤ 10 µs: ${verdict(percentile(hits, 50) <= 0.01)}`],
            ["cache miss (Postgres)", String(MISS_SAMPLES), millis(percentile(misses, 50)), millis(percentile(misses, 99)), millis(misses.at(-1)!), `p99 ≤ 2 ms: ${verdict(percentile(misses, 99) <= 2)}`],
          ],
        ) +
        "\n",
    );
  } finally {
    await keyward.close();
    await handle.close();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

await main();
