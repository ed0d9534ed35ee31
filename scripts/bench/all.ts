/**
 * Every benchmark, one after the other, each writing its section of bench-results/results.json;
 * then the README's generated figures are rewritten from that file.
 *
 *   npm run bench                         # everything (about 30 minutes on 2 cores)
 *   BENCH_ONLY=rest,limiter npm run bench # some of them: rest, limiter, verify, sdk-guard, load, pages
 *
 * Nothing shared is touched: each benchmark makes its own databases (PGlite directories under the
 * OS temp dir, databases of their own on BENCH_DATABASE_URL's server) and the Redis runs use
 * BENCH_REDIS_URL. Every variable a benchmark depends on is set here explicitly and printed by it.
 * Run it on a quiet machine: each section records the load average it was measured under.
 *
 *   - rest: `bench:rest` on PGlite and on PostgreSQL + Redis;
 *   - limiter: local and Redis decisions (a private redis-server);
 *   - verify: in-process verification among BENCH_VERIFY_KEYS (100 000) issued keys, PGlite and PostgreSQL;
 *   - sdk-guard: the SDK's guard and round trip against a local server;
 *   - load: `bench:load` for 60 s on both backends at 80 % of the metered verify capacity bench:rest
 *     measured on that backend (so run rest first, or it uses its committed figures);
 *   - pages: BENCH_PAGES_KEYS (1 000 000) keys with 30 days of usage seeded into a database of its own
 *     on BENCH_DATABASE_URL's PostgreSQL (about 6 minutes), then `bench:pages` on it. PostgreSQL, not
 *     PGlite: at a million keys the embedded database answers the keys list in seconds, not
 *     milliseconds (seen on 2026-12-03: one loader request took about 3 s), which is a deployment
 *     the docs tell you not to run at that size.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readResults } from "../lib/bench-results";
import { createPostgresDatabase, withoutBackend } from "../lib/bench-env";

const POSTGRES = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const VERIFY_KEYS = process.env.BENCH_VERIFY_KEYS ?? "100000";
const PAGES_KEYS = process.env.BENCH_PAGES_KEYS ?? "1000000";
const ALL = ["rest", "limiter", "verify", "sdk-guard", "load", "pages"];
const ONLY = (process.env.BENCH_ONLY ?? ALL.join(",")).split(",").map((name) => name.trim());
for (const name of ONLY) if (!ALL.includes(name)) throw new Error(`BENCH_ONLY: unknown benchmark "${name}" (${ALL.join(", ")})`);

/** This environment without DATABASE_URL/REDIS_URL: each step gets its backend explicitly. */
const base = withoutBackend(process.env);

function run(title: string, command: string, args: readonly string[], env: Record<string, string> = {}): void {
  process.stderr.write(`\n=== ${title}: ${command} ${args.join(" ")} (load average ${os.loadavg()[0]!.toFixed(2)})\n`);
  const result = spawnSync(command, args, { stdio: "inherit", env: { ...base, ...env } });
  if (result.status !== 0) throw new Error(`${title} failed (exit ${result.status ?? result.signal})`);
}

const tsx = (script: string, ...args: string[]): [string, string[]] => ["npx", ["tsx", script, ...args]];

run("build", "npm", ["run", "build", "--silent"]);
if (ONLY.includes("rest")) run("REST", ...tsx("scripts/bench/rest.ts"), { BENCH_DATABASE_URL: POSTGRES, BENCH_REDIS_URL: REDIS });
if (ONLY.includes("limiter")) run("rate limiter", ...tsx("scripts/bench/limiter.ts"));
if (ONLY.includes("verify")) {
  run("verification, PGlite", ...tsx("scripts/bench/verify.ts"), { BENCH_KEYS: VERIFY_KEYS });
  run("verification, PostgreSQL", ...tsx("scripts/bench/verify.ts"), { BENCH_KEYS: VERIFY_KEYS, BENCH_DATABASE_URL: POSTGRES });
}
if (ONLY.includes("sdk-guard")) run("SDK guard", ...tsx("scripts/bench/sdk-guard.ts"));
if (ONLY.includes("load")) {
  const rest = readResults().rest?.results ?? [];
  const rateOf = (backend: string) => {
    const capacity = rest.find((result) => result.backend === backend)?.targets.verifyMetered.requestsPerSecond;
    if (!capacity) throw new Error(`load: no bench:rest result for ${backend} to take 80 % of (run BENCH_ONLY=rest first)`);
    return String(Math.round(capacity * 0.8));
  };
  run("load, PGlite", ...tsx("scripts/bench/load.ts", "--rate", rateOf("pglite"), "--duration", "60"));
  run("load, PostgreSQL + Redis", ...tsx("scripts/bench/load.ts", "--rate", rateOf("postgres+redis"), "--duration", "60"), { DATABASE_URL: POSTGRES, REDIS_URL: REDIS });
}
if (ONLY.includes("pages")) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-bench-pages-"));
  const database = await createPostgresDatabase(POSTGRES, "keyward_pages");
  try {
    // NODE_ENV=development: the server reads the secrets the seed wrote into the data directory.
    const env = { KEYWARD_DATA_DIR: dataDir, DATABASE_URL: database.url, NODE_ENV: "development", KEYWARD_LOG_LEVEL: "warn" };
    run("seed for pages", ...tsx("scripts/seed.ts", "--keys", PAGES_KEYS, "--days", "30"), env);
    run("dashboard loaders", ...tsx("scripts/bench/pages.ts"), env);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
    await database.drop();
  }
}
// A trial run into another file (BENCH_RESULTS) leaves the README to the committed results.
if (!process.env.BENCH_RESULTS) run("README figures", ...tsx("scripts/bench/readme-figures.ts"));
