/**
 * Adapter benchmark: Remix behind @remix-run/express, or behind a plain node:http adapter (ADR 0014).
 *
 *   npm run bench:adapter                                      # builds first; 4 rounds × 10 s per route and adapter
 *   BENCH_SECONDS=20 BENCH_ROUNDS=6 BENCH_CONNECTIONS=50 npm run bench:adapter
 *
 * Starts two server processes (scripts/bench/adapter-server.ts) on the same production build, NODE_ENV=production,
 * each on its own copy of one temporary embedded database holding a member and a key: the adapter is all that
 * differs. It drives each with autocannon from this process on /api/health (no database), GET /api/v1/me with a
 * valid root key (the key middleware, then the handler) and a dashboard page loader (the keys list as a signed-in
 * `?_data=` request, as client-side navigation asks for it). Adapters alternate within every round, and the one
 * going first alternates between rounds (keep BENCH_ROUNDS even), so drift and the machine's other tenants hit
 * both alike. Next to throughput it reports what a shared machine cannot blur: the server's own CPU time per
 * request (user + system, asked of the server over IPC, from the start of a run to the end of the usage flush
 * after it). It reports each run, then per route the medians and the ratios node/express. The servers get
 * no DATABASE_URL or REDIS_URL, whatever this process has: embedded PGlite, per-process limits (printed at start).
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
import { describeBackend, printEnvironment, withoutBackend } from "../lib/bench-env";
import { table } from "../lib/format";
import { freePort } from "../lib/server-process";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const WARMUP_SECONDS = 3;
const SETTLE_MS = 3_000;
const ADAPTERS = ["express", "node"] as const;
type Adapter = (typeof ADAPTERS)[number];

interface Run {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  /** The server's CPU time (user + system) per request, in microseconds. */
  cpuPerRequest: number;
}

interface Route {
  label: string;
  path: string;
  headers(server: AdapterServer): Record<string, string>;
}

interface AdapterServer {
  adapter: Adapter;
  url: string;
  cookie: string;
  /** Microseconds of CPU the server process has used so far. */
  cpuTime(): Promise<number>;
  stop(): Promise<void>;
}

/** A run, then a pause longer than the usage flush interval (2 s): its writes are charged to it, not to the next run. */
async function load(server: AdapterServer, route: Route, seconds: number): Promise<Run> {
  const cpuBefore = await server.cpuTime();
  const result = await autocannon({ url: `${server.url}${route.path}`, connections: CONNECTIONS, duration: seconds, headers: route.headers(server) });
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const cpu = (await server.cpuTime()) - cpuBefore;
  const requests = result.requests.average * seconds;
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    cpuPerRequest: cpu / requests,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * scripts/bench/adapter-server.ts under tsx, resolved once `/api/ready` answers 200 (startServerProcess
 * runs build/server.js only). Signs in as the member, for the page loader.
 */
async function startAdapterServer(adapter: Adapter, env: NodeJS.ProcessEnv, email: string, password: string): Promise<AdapterServer> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/bench/adapter-server.ts"], {
    env: { ...env, KEYWARD_HTTP_ADAPTER: adapter, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = performance.now() + 120_000; ; ) {
    if (child.exitCode !== null) throw new Error(`${adapter} server exited (${child.exitCode}):\n${output}`);
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`${adapter} server did not become ready within 120 s:\n${output}`);
    }
    if (await fetch(`${url}/api/ready`).then((response) => response.ok, () => false)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const response = await fetch(`${url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: url },
    body: new URLSearchParams({ email, password }),
  });
  const setCookie = response.headers.get("set-cookie");
  if (response.status !== 302 || !setCookie) {
    await stop();
    throw new Error(`sign-in on the ${adapter} server failed: ${response.status}`);
  }
  const cpuTime = () =>
    new Promise<number>((resolve) => {
      child.once("message", (usage) => resolve((usage as NodeJS.CpuUsage).user + (usage as NodeJS.CpuUsage).system));
      child.send("cpu");
    });
  return { adapter, url, cookie: setCookie.split(";")[0]!, cpuTime, stop };
}

async function main(): Promise<void> {
  if (!fs.existsSync("build/index.js")) throw new Error("No production build: run `npm run build` first (npm run bench:adapter does).");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-bench-adapter-"));
  const env: NodeJS.ProcessEnv = {
    ...withoutBackend(process.env),
    NODE_ENV: "production",
    KEYWARD_SECRET: crypto.randomBytes(32).toString("base64"),
    KEYWARD_ENCRYPTION_KEY: crypto.randomBytes(32).toString("base64"),
    KEYWARD_LOG_LEVEL: "warn",
  };
  const databases = { express: path.join(dataDir, "express"), node: path.join(dataDir, "node") } satisfies Record<Adapter, string>;
  printEnvironment("bench:adapter environment (the servers' too)", {
    BENCH_SECONDS: String(SECONDS),
    BENCH_ROUNDS: String(ROUNDS),
    BENCH_CONNECTIONS: String(CONNECTIONS),
    ...describeBackend({ dataDir: `${databases.express} and ${databases.node}` }),
  });

  // The member and the key, made through the services before any server takes the database's lock; then copied.
  const keyward = await createKeyward({ config: loadConfig({ ...env, KEYWARD_DATA_DIR: databases.express }) });
  const system = systemActor("bench");
  const email = "bench@example.test";
  const password = crypto.randomBytes(16).toString("hex");
  const owner = await keyward.users.create(system, { email, password, role: "member" });
  // A budget the load cannot exhaust: the limiter still takes a token per request, it never says no.
  const rateLimit = { requests: 10_000_000, windowSeconds: 60 };
  const { key } = await keyward.keys.create(system, { name: "bench", scopes: ["read"], ownerId: owner.id, rateLimit });
  await keyward.close();
  fs.cpSync(databases.express, databases.node, { recursive: true });

  const servers: AdapterServer[] = [];
  const stopAll = () => Promise.all(servers.map((server) => server.stop()));
  process.on("SIGINT", () => {
    void stopAll().then(() => process.exit(130));
  });
  try {
    for (const adapter of ADAPTERS) servers.push(await startAdapterServer(adapter, { ...env, KEYWARD_DATA_DIR: databases[adapter] }, email, password));
    const routes: Route[] = [
      { label: "GET /api/health", path: "/api/health", headers: () => ({}) },
      { label: "GET /api/v1/me with a key", path: "/api/v1/me", headers: () => ({ Authorization: `Bearer ${key}` }) },
      { label: "keys list loader (?_data=)", path: `/keys?_data=${encodeURIComponent("routes/_app.keys._index")}`, headers: (server) => ({ Cookie: server.cookie }) },
    ];
    // Both adapters give the same answer on every route, or the comparison means nothing.
    for (const route of routes) {
      const answers = await Promise.all(
        servers.map(async (server) => {
          const response = await fetch(`${server.url}${route.path}`, { headers: route.headers(server) });
          return `${response.status} ${response.headers.get("content-type")} ${Object.keys((await response.json()) as object).join(",")}`;
        }),
      );
      if (!answers[0]!.startsWith("200 ") || answers[0] !== answers[1]) throw new Error(`${route.label}: the adapters disagree: ${answers.join(" / ")}`);
    }

    const loadBefore = os.loadavg().map((n) => n.toFixed(2)).join(" ");
    process.stderr.write(`Warming up (${WARMUP_SECONDS} s per route and adapter, ${CONNECTIONS} connections)…\n`);
    for (const server of servers) for (const route of routes) await load(server, route, WARMUP_SECONDS);

    const runs = new Map(routes.map((route) => [route, { express: [] as Run[], node: [] as Run[] }]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      process.stderr.write(`Round ${round + 1}/${ROUNDS}: ${SECONDS} s per route, ${order.map((server) => server.adapter).join(" then ")}…\n`);
      for (const route of routes) {
        for (const server of order) runs.get(route)![server.adapter].push(await load(server, route, SECONDS));
      }
    }
    const loadAfter = os.loadavg().map((n) => n.toFixed(2)).join(" ");

    const ms = (n: number) => `${n.toFixed(1)} ms`;
    const perRun = routes.flatMap((route) =>
      ADAPTERS.flatMap((adapter) =>
        runs.get(route)![adapter].map((run, round) => [
          route.label,
          adapter,
          String(round + 1),
          run.requestsPerSecond.toFixed(0),
          ms(run.p50),
          ms(run.p99),
          String(run.errors),
          `${run.cpuPerRequest.toFixed(0)} µs`,
        ]),
      ),
    );
    const summary = routes.map((route) => {
      const { express, node } = runs.get(route)!;
      const pick = (adapterRuns: Run[], field: keyof Run) => median(adapterRuns.map((run) => run[field]));
      const perRound = (field: keyof Run) => node.map((run, round) => (run[field] / express[round]![field]).toFixed(2)).join(" ");
      return [
        route.label,
        pick(express, "requestsPerSecond").toFixed(0),
        pick(node, "requestsPerSecond").toFixed(0),
        (pick(node, "requestsPerSecond") / pick(express, "requestsPerSecond")).toFixed(3),
        perRound("requestsPerSecond"),
        `${pick(express, "cpuPerRequest").toFixed(0)} µs`,
        `${pick(node, "cpuPerRequest").toFixed(0)} µs`,
        (pick(node, "cpuPerRequest") / pick(express, "cpuPerRequest")).toFixed(3),
        perRound("cpuPerRequest"),
        `${ms(pick(express, "p50"))} / ${ms(pick(express, "p99"))}`,
        `${ms(pick(node, "p50"))} / ${ms(pick(node, "p99"))}`,
      ];
    });
    process.stdout.write(
      `\nRemix adapters, production build, embedded PGlite, autocannon -c ${CONNECTIONS}, ${ROUNDS} rounds × ${SECONDS} s per route and adapter, ` +
        `servers and load on the same ${os.cpus().length} CPUs (Node ${process.version}); load average before ${loadBefore}, after ${loadAfter}\n\n` +
        table(["route", "adapter", "round", "req/s", "p50", "p99", "errors", "server cpu/req"], perRun) +
        "\n\nMedians over the rounds (node/express per round in the order run)\n\n" +
        table(
          ["route", "express req/s", "node req/s", "node/express", "per round", "express cpu/req", "node cpu/req", "node/express", "per round", "express p50 / p99", "node p50 / p99"],
          summary,
        ) +
        "\n",
    );
  } finally {
    await stopAll();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
