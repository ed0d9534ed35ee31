/**
 * REST benchmark: what the API-key middleware costs over HTTP.
 *
 *   npm run bench:rest                     # builds first; 10 s per run, embedded PGlite
 *   BENCH_SECONDS=20 BENCH_ROUNDS=4 BENCH_CONNECTIONS=50 npm run bench:rest
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:rest   # PostgreSQL
 *
 * Starts the production build (`node build/server.js`, NODE_ENV=production, a temporary embedded
 * database, or a database of its own on BENCH_DATABASE_URL's server, dropped at the end) as a
 * separate process and drives it with autocannon from this one. REDIS_URL, when set, is passed on to the
 * server; DATABASE_URL is not (BENCH_DATABASE_URL chooses the server). The backend is printed at start.
 * The key is a root key: GET /api/v1/me admits root keys (verification of issued keys is bench:verify). It compares, in one run:
 *   - GET /api/v1/me with a valid key: the whole middleware (URL check, header, format and checksum,
 *     verification cache, status, allowlist, scope), then the handler;
 *   - GET /api/v1/bench/me: the same route module's handler, with the same database read, WITHOUT the
 *     middleware. It exists only when KEYWARD_BENCH_KEY_ID is set and answers loopback clients only.
 * The ratio of the two is the middleware's cost. GET /api/health (no database, no middleware) is shown
 * for scale. The runs alternate (bypass, authenticated, bypass, authenticated) so drift hits both alike.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import postgres from "postgres";
import { loadConfig } from "../../app/config.server";
import { systemActor } from "../../app/services/actor.server";
import { createKeyward } from "../../app/services/keyward.server";
import { describeBackend, printEnvironment, withoutBackend } from "../lib/bench-env";
import { table } from "../lib/format";
import { startServerProcess } from "../lib/server-process";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const POSTGRES_SERVER = process.env.BENCH_DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;

interface Run {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(url: string, headers: Record<string, string>, seconds: number): Promise<Run> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, headers });
  return { requestsPerSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

function mean(runs: Run[]): Run {
  const avg = (pick: (run: Run) => number) => runs.reduce((sum, run) => sum + pick(run), 0) / runs.length;
  return { requestsPerSecond: avg((r) => r.requestsPerSecond), p50: avg((r) => r.p50), p99: avg((r) => r.p99), errors: runs.reduce((sum, r) => sum + r.errors, 0) };
}

async function main(): Promise<void> {
  if (!fs.existsSync("build/server.js")) throw new Error("No production build: run `npm run build` first (npm run bench:rest does).");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-bench-"));
  const database = POSTGRES_SERVER ? await createPostgresDatabase(POSTGRES_SERVER) : null;
  const env: NodeJS.ProcessEnv = {
    ...withoutBackend(process.env),
    NODE_ENV: "production",
    KEYWARD_SECRET: crypto.randomBytes(32).toString("base64"),
    KEYWARD_ENCRYPTION_KEY: crypto.randomBytes(32).toString("base64"),
    KEYWARD_DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...(REDIS_URL ? { REDIS_URL } : {}),
  };
  printEnvironment("bench:rest environment (the server's too)", {
    BENCH_SECONDS: String(SECONDS),
    BENCH_ROUNDS: String(ROUNDS),
    BENCH_CONNECTIONS: String(CONNECTIONS),
    BENCH_DATABASE_URL: POSTGRES_SERVER,
    ...describeBackend({ databaseUrl: database?.url, dataDir, redisUrl: REDIS_URL }),
  });

  // The key, made through the services before the server takes the embedded database's lock.
  const keyward = await createKeyward({ config: loadConfig(env) });
  const system = systemActor("bench");
  const owner = await keyward.users.create(system, { email: "bench@example.test", password: crypto.randomBytes(16).toString("hex"), role: "member" });
  // A budget the load cannot exhaust: the limiter still takes a token per request, it never says no.
  const rateLimit = { requests: 1_000_000, windowSeconds: 60 };
  const { key, apiKey } = await keyward.keys.create(system, { name: "bench", scopes: ["read"], ownerId: owner.id, rateLimit });
  await keyward.close();

  const server = await startServerProcess({ ...env, KEYWARD_BENCH_KEY_ID: apiKey.id });
  const { url } = server;
  process.on("SIGINT", () => {
    void server.stop().then(() => process.exit(130));
  });

  try {
    const authed = { url: `${url}/api/v1/me`, headers: { Authorization: `Bearer ${key}` } };
    const bypass = { url: `${url}/api/v1/bench/me`, headers: {} };
    // Both answer the same body for the same key, or the comparison means nothing.
    const [a, b] = await Promise.all([fetch(authed.url, { headers: authed.headers }), fetch(bypass.url)]);
    const [bodyA, bodyB] = [(await a.json()) as { apiKey: { id: string } }, (await b.json()) as { apiKey: { id: string } }];
    if (a.status !== 200 || b.status !== 200 || bodyA.apiKey.id !== bodyB.apiKey.id) throw new Error(`routes disagree: ${a.status} ${b.status}`);

    const loadBefore = os.loadavg()[0]!.toFixed(2);
    process.stderr.write(`Warming up (${CONNECTIONS} connections)…\n`);
    await load(bypass.url, bypass.headers, 3);
    await load(authed.url, authed.headers, 3);

    const runs: { bypass: Run[]; authed: Run[] } = { bypass: [], authed: [] };
    for (let round = 0; round < ROUNDS; round++) {
      process.stderr.write(`Round ${round + 1}/${ROUNDS}: ${SECONDS} s without the middleware, ${SECONDS} s with it…\n`);
      runs.bypass.push(await load(bypass.url, bypass.headers, SECONDS));
      runs.authed.push(await load(authed.url, authed.headers, SECONDS));
    }
    process.stderr.write(`${SECONDS} s of /api/health for scale…\n`);
    const health = await load(`${url}/api/health`, {}, SECONDS);

    const base = mean(runs.bypass);
    const withAuth = mean(runs.authed);
    const row = (label: string, run: Run) => [label, run.requestsPerSecond.toFixed(0), `${run.p50.toFixed(1)} ms`, `${run.p99.toFixed(1)} ms`, String(run.errors)];
    const ratio = withAuth.requestsPerSecond / base.requestsPerSecond;
    process.stdout.write(
      `\nREST, production build, autocannon -c ${CONNECTIONS}, ${ROUNDS} × ${SECONDS} s per route, server and load on the same ${os.cpus().length} CPUs (Node ${process.version}, ${database ? "PostgreSQL" : "embedded PGlite"}${REDIS_URL ? " + Redis" : ""}, load average before ${loadBefore})\n\n` +
        table(
          ["route", "req/s", "p50", "p99", "errors"],
          [
            row("GET /api/v1/me, middleware bypassed (/api/v1/bench/me)", base),
            row("GET /api/v1/me with a valid key (whole middleware)", withAuth),
            row("GET /api/health (no database, for scale)", health),
          ],
        ) +
        `\n\nthroughput ratio, authenticated / bypassed: ${ratio.toFixed(3)} (target ≥ 0.90: ${ratio >= 0.9 ? "met" : "MISSED"})` +
        `\nadded median latency: ${(withAuth.p50 - base.p50).toFixed(2)} ms, added p99: ${(withAuth.p99 - base.p99).toFixed(2)} ms\n` +
        `per-round req/s (bypassed / authenticated): ${runs.bypass.map((r, i) => `${r.requestsPerSecond.toFixed(0)} / ${runs.authed[i]!.requestsPerSecond.toFixed(0)}`).join(", ")}\n`,
    );
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    await database?.drop();
  }
}

/** A database of the benchmark's own on that server, so nothing shared is touched. */
async function createPostgresDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `keyward_bench_${crypto.randomBytes(4).toString("hex")}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

await main();
