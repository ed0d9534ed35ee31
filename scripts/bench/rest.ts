/**
 * REST benchmark: what Keyward's request path costs over HTTP, next to a bare node:http server.
 *
 *   npm run bench:rest                                   # builds first; PGlite, then PostgreSQL + Redis
 *   BENCH_BACKENDS=pglite npm run bench:rest             # one backend
 *   BENCH_SECONDS=5 BENCH_ROUNDS=3 npm run bench:rest    # shorter
 *
 * Per backend it starts three processes besides this one (which runs autocannon):
 *   - a bare `node:http` server answering `{"status":"ok"}`: the reference, the ceiling of this load
 *     generator on this machine;
 *   - the production build (`node build/server.js`, NODE_ENV=production, KEYWARD_LOG_LEVEL=info as in
 *     production) on a temporary PGlite directory, or on a database of its own on BENCH_DATABASE_URL's
 *     server with Redis at BENCH_REDIS_URL (limits shared through Redis), dropped at the end.
 * Targets, alternated within every round so drift hits all alike (medians over the rounds):
 *   - bare: GET / on the bare server;
 *   - health: GET /api/health (no database, no key);
 *   - verify metered: POST /api/v1/verify of an issued key with credits (one atomic charge per call),
 *     one named rate limit ("requests", through Redis on that backend) and usage recording;
 *   - verify unmetered: the same call for an issued key of the same API without credits or limits
 *     (usage is still recorded: verification always counts);
 *   - me: GET /api/v1/me with a root key (the whole API-key middleware, then the handler);
 *   - me twin: GET /api/v1/bench/me, the same handler without the middleware (loopback only, and only
 *     with KEYWARD_BENCH_KEY_ID set).
 * Both keys are verified once before the rounds, so "cached" holds for every timed request. Then a
 * fixed-rate run of metered verify at half its measured capacity gives the p99 a client sees when
 * Keyward is not saturated: open loop (scripts/lib/paced-load.ts, each request due at its own time,
 * latency counted from then), not autocannon's `overallRate`, which bursts each second's quota. Results go to stdout and, as JSON, to the `rest` section of
 * bench-results/results.json (committed; BENCH_RESULTS names another file; `npm run bench:readme`
 * makes the README's table from it).
 */
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { loadConfig } from "../../app/config.server";
import { systemActor } from "../../app/services/actor.server";
import { createKeyward } from "../../app/services/keyward.server";
import { createPostgresDatabase, describeBackend, printEnvironment, withoutBackend } from "../lib/bench-env";
import { table } from "../lib/format";
import { pacedLoad } from "../lib/paced-load";
import { freePort, startServerProcess } from "../lib/server-process";
import { recordResults, type RestBackendResult, type RestResults } from "../lib/bench-results";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BACKENDS = (process.env.BENCH_BACKENDS ?? "pglite,postgres+redis").split(",").map((name) => name.trim());
const POSTGRES_SERVER = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";

interface Run {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

interface Target {
  name: string;
  label: string;
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
}

async function load(target: Target, seconds: number): Promise<Run> {
  const result = await autocannon({
    url: target.url,
    method: target.method ?? "GET",
    headers: target.headers,
    body: target.body,
    connections: CONNECTIONS,
    duration: seconds,
  });
  return { requestsPerSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function medianRun(runs: Run[]): Run {
  return {
    requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  };
}

/** The reference: node's own HTTP server in a process of its own, answering a small JSON body. */
async function startBareServer(): Promise<{ url: string; stop(): void }> {
  const port = await freePort();
  const source = `require("node:http").createServer((req, res) => { res.setHeader("Content-Type", "application/json"); res.end('{"status":"ok"}'); }).listen(${port}, "127.0.0.1", () => process.stdout.write("ready\\n"));`;
  const child = spawn(process.execPath, ["-e", source], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`bare server exited (${code})`)));
    child.stdout!.once("data", () => resolve());
  });
  return { url: `http://127.0.0.1:${port}/`, stop: () => child.kill() };
}


async function benchBackend(backend: string): Promise<RestBackendResult> {
  const onPostgres = backend === "postgres+redis";
  if (!onPostgres && backend !== "pglite") throw new Error(`BENCH_BACKENDS: unknown backend "${backend}" (pglite, postgres+redis)`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-bench-"));
  const database = onPostgres ? await createPostgresDatabase(POSTGRES_SERVER) : null;
  const env: NodeJS.ProcessEnv = {
    ...withoutBackend(process.env),
    NODE_ENV: "production",
    KEYWARD_SECRET: crypto.randomBytes(32).toString("base64"),
    KEYWARD_ENCRYPTION_KEY: crypto.randomBytes(32).toString("base64"),
    KEYWARD_DATA_DIR: dataDir,
    KEYWARD_LOG_LEVEL: "info",
    ...(database ? { DATABASE_URL: database.url, REDIS_URL } : {}),
  };
  printEnvironment(`\nbench:rest on ${backend} (the server's environment)`, {
    BENCH_SECONDS: String(SECONDS),
    BENCH_ROUNDS: String(ROUNDS),
    BENCH_CONNECTIONS: String(CONNECTIONS),
    KEYWARD_LOG_LEVEL: env.KEYWARD_LOG_LEVEL,
    ...describeBackend({ databaseUrl: database?.url, dataDir, redisUrl: database ? REDIS_URL : undefined }),
  });

  // Keys made through the services before the server takes the embedded database's lock.
  const keyward = await createKeyward({ config: loadConfig(env) });
  const system = systemActor("bench");
  const owner = await keyward.users.create(system, { email: "bench@example.test", password: crypto.randomBytes(16).toString("hex"), role: "member" });
  // Budgets the load cannot exhaust: every request still takes a token and a credit, none is refused.
  const root = await keyward.keys.create(system, { name: "bench root", scopes: ["read"], ownerId: owner.id, rateLimit: { requests: 1_000_000_000, windowSeconds: 60 } });
  const api = await keyward.apis.create(system, { name: "Bench API", prefix: "bench" }, { ownerId: owner.id });
  const metered = await keyward.keys.createIssued(system, api.id, {
    name: "metered",
    credits: { remaining: 1_000_000_000_000 },
    ratelimits: [{ name: "requests", limit: 1_000_000_000, durationSeconds: 60 }],
  });
  const unmetered = await keyward.keys.createIssued(system, api.id, { name: "unmetered" });
  await keyward.close();

  const bare = await startBareServer();
  const server = await startServerProcess({ ...env, KEYWARD_BENCH_KEY_ID: root.apiKey.id });
  const { url } = server;
  const auth = { Authorization: `Bearer ${root.key}`, "Content-Type": "application/json" };
  const verify = (key: string): Pick<Target, "url" | "method" | "headers" | "body"> => ({
    url: `${url}/api/v1/verify`,
    method: "POST",
    headers: auth,
    body: JSON.stringify({ key, apiId: api.id }),
  });
  const targets: Target[] = [
    { name: "bare", label: "bare node:http (its own process)", url: bare.url },
    { name: "health", label: "GET /api/health", url: `${url}/api/health` },
    { name: "verifyMetered", label: "POST /api/v1/verify, metered (credits, Redis-or-local limit, usage)", ...verify(metered.key) },
    { name: "verifyUnmetered", label: "POST /api/v1/verify, no credits or limits (usage recorded)", ...verify(unmetered.key) },
    { name: "me", label: "GET /api/v1/me (root key, whole middleware)", url: `${url}/api/v1/me`, headers: { Authorization: auth.Authorization } },
    { name: "meTwin", label: "GET /api/v1/bench/me (same handler, no middleware)", url: `${url}/api/v1/bench/me` },
  ];

  try {
    // Every target answers 200 (and both verifies VALID) before anything is timed.
    for (const target of targets) {
      const response = await fetch(target.url, { method: target.method, headers: target.headers, body: target.body });
      const text = await response.text();
      if (response.status !== 200 || (target.name.startsWith("verify") && !text.includes('"valid":true'))) {
        throw new Error(`${target.label}: ${response.status} ${text.slice(0, 200)}`);
      }
    }
    const loadAverageBefore = os.loadavg()[0]!;
    process.stderr.write(`Warming up (${CONNECTIONS} connections)…\n`);
    for (const target of targets) await load(target, 2);

    const runs = new Map<string, Run[]>(targets.map((target) => [target.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      process.stderr.write(`Round ${round + 1}/${ROUNDS}: ${targets.length} targets × ${SECONDS} s…\n`);
      for (const target of targets) runs.get(target.name)!.push(await load(target, SECONDS));
    }
    const results = Object.fromEntries(
      targets.map((target) => [target.name, { ...medianRun(runs.get(target.name)!), perRound: runs.get(target.name)!.map((r) => Math.round(r.requestsPerSecond)) }]),
    ) as RestBackendResult["targets"];

    const rate = Math.max(1, Math.round(results.verifyMetered.requestsPerSecond / 2));
    process.stderr.write(`Fixed rate: metered verify at ${rate} req/s (half its capacity) for ${SECONDS} s, open loop…\n`);
    const paced = { ...targets[2]!, rate, connections: CONNECTIONS * 2 };
    await pacedLoad({ ...paced, seconds: 2 });
    const fixedRun = await pacedLoad({ ...paced, seconds: SECONDS });
    const tenth = (ms: number) => Math.round(ms * 10) / 10;
    const fixed: Run & { p999: number; max: number } = { requestsPerSecond: rate, p50: tenth(fixedRun.p50), p99: tenth(fixedRun.p99), p999: tenth(fixedRun.p999), max: tenth(fixedRun.max), errors: fixedRun.errors };

    const rps = (name: keyof RestBackendResult["targets"]) => results[name].requestsPerSecond;
    const ratios = {
      healthVsBare: rps("health") / rps("bare"),
      verifyMeteredVsBare: rps("verifyMetered") / rps("bare"),
      verifyUnmeteredVsBare: rps("verifyUnmetered") / rps("bare"),
      meteredVsUnmetered: rps("verifyMetered") / rps("verifyUnmetered"),
      meVsTwin: rps("me") / rps("meTwin"),
    };
    const row = (target: Target) => {
      const run = results[target.name as keyof RestBackendResult["targets"]];
      return [target.label, run.requestsPerSecond.toFixed(0), `${run.p50.toFixed(1)} ms`, `${run.p99.toFixed(1)} ms`, (run.requestsPerSecond / rps("bare")).toFixed(3), String(run.errors), run.perRound.join(" / ")];
    };
    const check = (value: number, target: number) => `${value.toFixed(3)} (target ≥ ${target}: ${value >= target ? "met" : "MISSED"})`;
    process.stdout.write(
      `\nREST on ${backend}: production build, KEYWARD_LOG_LEVEL=info, autocannon -c ${CONNECTIONS}, median of ${ROUNDS} × ${SECONDS} s per target, ` +
        `servers and load generator on the same ${os.cpus().length} CPUs (Node ${process.version}, load average before ${loadAverageBefore.toFixed(2)})\n\n` +
        table(["target", "req/s", "p50", "p99", "vs bare", "errors", "req/s per round"], targets.map(row)) +
        `\n\nGET /api/health / bare:               ${check(ratios.healthVsBare, 0.3)}` +
        `\nverify metered / bare:                ${check(ratios.verifyMeteredVsBare, 0.25)}` +
        `\nverify metered / unmetered:           ${check(ratios.meteredVsUnmetered, 0.85)}` +
        `\nGET /api/v1/me / its twin:            ${check(ratios.meVsTwin, 0.9)}` +
        `\nmetered verify at ${rate} req/s (open loop, latency from each request's due time): p50 ${fixed.p50.toFixed(1)} ms, p99 ${fixed.p99.toFixed(1)} ms (target ≤ 5 ms: ${fixed.p99 <= 5 ? "met" : "MISSED"}), p99.9 ${fixed.p999.toFixed(1)} ms, max ${fixed.max.toFixed(1)} ms, ${fixed.errors} errors\n`,
    );
    return { backend, loadAverageBefore, targets: results, fixedRate: { rate, run: fixed }, ratios };
  } finally {
    await server.stop();
    bare.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    await database?.drop();
  }
}

async function main(): Promise<void> {
  if (!fs.existsSync("build/server.js")) throw new Error("No production build: run `npm run build` first (npm run bench:rest does).");
  const results: RestBackendResult[] = [];
  for (const backend of BACKENDS) results.push(await benchBackend(backend));
  const file: RestResults = { benchmark: "rest", measuredAt: new Date().toISOString(), node: process.version, cpus: os.cpus().length, connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS, results };
  recordResults("rest", file);
}

await main();
