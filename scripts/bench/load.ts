/**
 * REST load test: a fixed request rate against the production build, with the traffic a public API
 * really gets, and a verdict.
 *
 *   npm run bench:load                                   # builds first; 1 500 req/s for 60 s, embedded PGlite
 *   npm run bench:load -- --rate 800 --duration 10       # shorter, gentler
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379 npm run bench:load
 *
 * Starts `node build/server.js` (NODE_ENV=production) on a fresh database: a temporary PGlite data
 * directory, or a database of its own on DATABASE_URL's server (dropped at the end); REDIS_URL, when
 * set, is passed on (cluster-wide limits); both are printed at start and handed to the server explicitly. Before the server starts, the bulk seed service creates
 * 1 000 active keys (default limit), 20 active keys limited to 5 requests a minute and 50 revoked keys.
 * autocannon then sends GET /api/v1/me at `--rate` requests per second (overallRate) for `--duration`
 * seconds after a warm-up, each request drawn from this mix (root keys: GET /api/v1/me admits root keys,
 * and an issued key would be refused 403 not_a_root_key):
 *
 *   valid 75 % · rate-limited key 7 % · revoked 5 % · unknown well-formed 5 % · wrong checksum 4 % · malformed 4 %
 *
 * Each key's client has an address of its own, and the invalid traffic comes from many addresses
 * (X-Forwarded-For, with KEYWARD_TRUST_PROXY=1), as on the internet; from a single address the per-address
 * failed-auth throttle would rightly refuse everything after 20 failures.
 *
 * Reports throughput, latency (p50/p90/p99/max; corrected for coordinated omission), responses by
 * status class and by kind of request (status and problem `code`), and the server's memory when idle,
 * after the warm-up, right after the run and after 5 s idle: resident (VmRSS from /proc, and its peak)
 * and the JS heap after a full collection (asked over IPC; the server runs with --expose-gc). Exits 1 on any 5xx, connection error or response unexpected for its kind.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import autocannonUntyped from "autocannon";
import { loadConfig } from "../../app/config.server";
import { generateKey, KEY_CHECKSUM_LENGTH, BASE62 } from "../../app/lib/key-format";
import { systemActor } from "../../app/services/actor.server";
import { BulkSeedService, type BulkKeySpec } from "../../app/services/bulk-seed.server";
import { createKeyward } from "../../app/services/keyward.server";
import { createPostgresDatabase, describeBackend, printEnvironment, withoutBackend } from "../lib/bench-env";
import { measured, recordResults } from "../lib/bench-results";
import { table } from "../lib/format";
import { formatCount } from "../lib/progress";
import { startServerProcess, type ServerProcess } from "../lib/server-process";

/** The part of autocannon 9's API this script uses beyond scripts/bench/autocannon.d.ts. */
interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
}
interface RequestContext {
  kind?: Kind;
}
interface LoadOptions {
  url: string;
  connections: number;
  /** Requests per second over all connections. */
  overallRate: number;
  /** Seconds. */
  duration: number;
  requests: {
    setupRequest: (request: RawRequest, context: RequestContext) => RawRequest;
    onResponse: (status: number, body: string, context: RequestContext) => void;
  }[];
}
interface LoadResult {
  /** Milliseconds. */
  latency: { p50: number; p90: number; p99: number; max: number };
  /** Seconds. */
  duration: number;
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number | string }>;
}
const autocannon = autocannonUntyped as unknown as (options: LoadOptions) => Promise<LoadResult>;

const { values: args } = parseArgs({
  options: {
    rate: { type: "string", default: "1500" },
    duration: { type: "string", default: "60" },
    warmup: { type: "string", default: "5" },
    connections: { type: "string", default: "50" },
    keys: { type: "string", default: "1000" },
  },
  strict: true,
});
const RATE = Number(args.rate);
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const CONNECTIONS = Number(args.connections);
const ACTIVE_KEYS = Number(args.keys);
const LIMITED_KEYS = 20;
const REVOKED_KEYS = 50;
const TINY_LIMIT = { requests: 5, windowSeconds: 60 };

/** What a request presents, and what it must be answered with. */
const MIX = [
  { kind: "valid", weight: 75, expect: [200] },
  { kind: "rate-limited", weight: 7, expect: [200, 429] },
  // A client that keeps presenting a revoked key is throttled like any failing client (429 too_many_failures).
  { kind: "revoked", weight: 5, expect: [401, 429] },
  { kind: "unknown", weight: 5, expect: [401] },
  { kind: "wrong-checksum", weight: 4, expect: [401] },
  { kind: "malformed", weight: 4, expect: [401] },
] as const;
type Kind = (typeof MIX)[number]["kind"];

interface Tally {
  sent: number;
  byStatus: Map<number, number>;
  byCode: Map<string, number>;
}

/** Resident memory of a process in MiB, from /proc (Linux). */
function residentMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  return kb / 1024;
}


/** The keys each kind presents. Invalid ones are made here and never reach the database. */
async function seedKeys(env: NodeJS.ProcessEnv): Promise<Record<Kind, string[]>> {
  const keyward = await createKeyward({ config: loadConfig(env) });
  try {
    const system = systemActor("bench");
    const owner = await keyward.users.create(system, { email: "load@example.test", password: crypto.randomBytes(16).toString("hex"), role: "member" });
    const bulk = new BulkSeedService({ db: keyward.database.db, clock: keyward.clock, secrets: keyward.config.digestSecrets });
    const now = keyward.clock.now();
    const spec = (index: number): BulkKeySpec => ({
      ownerId: owner.id,
      name: `load ${index}`,
      scopes: ["read"],
      rateLimit: index >= ACTIVE_KEYS && index < ACTIVE_KEYS + LIMITED_KEYS ? TINY_LIMIT : null,
      createdAt: now,
      expiresAt: null,
      disabledAt: null,
      revokedAt: index >= ACTIVE_KEYS + LIMITED_KEYS ? now : null,
    });
    const { kept } = await bulk.insertKeys(system, { count: ACTIVE_KEYS + LIMITED_KEYS + REVOKED_KEYS, spec, keep: () => true, plaintext: true });
    const plaintexts = kept.map((key) => key.key!);
    const flip = (key: string) => {
      // Same body, another checksum: passes the length and alphabet checks, fails the checksum.
      const last = key.at(-1)!;
      return key.slice(0, -1) + BASE62[(BASE62.indexOf(last) + 1) % BASE62.length];
    };
    return {
      valid: plaintexts.slice(0, ACTIVE_KEYS),
      "rate-limited": plaintexts.slice(ACTIVE_KEYS, ACTIVE_KEYS + LIMITED_KEYS),
      revoked: plaintexts.slice(ACTIVE_KEYS + LIMITED_KEYS),
      unknown: Array.from({ length: 1000 }, () => generateKey()),
      "wrong-checksum": plaintexts.slice(0, 1000).map(flip),
      malformed: [
        "kw_tooshort",
        "not-a-keyward-key",
        `sk_${"a".repeat(61)}`,
        `kw_${"!".repeat(55)}${"a".repeat(KEY_CHECKSUM_LENGTH)}`,
        `${plaintexts[0]!}extra`,
        "",
      ],
    };
  } finally {
    await keyward.close();
  }
}

function pick(): (typeof MIX)[number] {
  let roll = Math.random() * 100;
  for (const entry of MIX) {
    roll -= entry.weight;
    if (roll < 0) return entry;
  }
  return MIX[0];
}

async function main(): Promise<void> {
  if (!fs.existsSync("build/server.js")) throw new Error("No production build: run `npm run build` first (npm run bench:load does).");
  for (const [name, value] of Object.entries({ rate: RATE, duration: DURATION, warmup: WARMUP, connections: CONNECTIONS, keys: ACTIVE_KEYS })) {
    if (!Number.isInteger(value) || value < (name === "warmup" ? 0 : 1)) throw new Error(`--${name} must be a whole number ≥ ${name === "warmup" ? 0 : 1}`);
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-load-"));
  const redisUrl = process.env.REDIS_URL;
  const database = process.env.DATABASE_URL ? await createPostgresDatabase(process.env.DATABASE_URL, "keyward_load") : null;
  const env: NodeJS.ProcessEnv = {
    ...withoutBackend(process.env),
    NODE_ENV: "production",
    KEYWARD_SECRET: crypto.randomBytes(32).toString("base64"),
    KEYWARD_ENCRYPTION_KEY: crypto.randomBytes(32).toString("base64"),
    KEYWARD_DATA_DIR: dataDir,
    KEYWARD_TRUST_PROXY: "1",
    KEYWARD_LOG_LEVEL: "warn",
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  };
  printEnvironment("bench:load environment (the server's too)", {
    DATABASE_URL: process.env.DATABASE_URL,
    ...describeBackend({ databaseUrl: database?.url, dataDir, redisUrl }),
  });

  let server: ServerProcess | undefined;
  process.on("SIGINT", () => {
    void (server?.stop() ?? Promise.resolve()).then(() => process.exit(130));
  });
  try {
    process.stderr.write(`Creating ${ACTIVE_KEYS} active keys, ${LIMITED_KEYS} limited to ${TINY_LIMIT.requests}/min and ${REVOKED_KEYS} revoked…\n`);
    const keys = await seedKeys(env);
    server = await startServerProcess(env, { ipc: true });
    const { url } = server;
    const pid = server.child.pid!;

    const tallies = new Map<Kind, Tally>(MIX.map(({ kind }) => [kind, { sent: 0, byStatus: new Map(), byCode: new Map() }]));
    const expected = new Map<Kind, readonly number[]>(MIX.map(({ kind, expect }) => [kind, expect]));
    let counting = false;
    const addressOf = new Map<string, string>();
    // Each valid or limited key is one client with its own address; invalid traffic comes from anywhere in 10.2/16.
    [...keys.valid, ...keys["rate-limited"], ...keys.revoked].forEach((key, index) => addressOf.set(key, `10.1.${index >> 8}.${index & 255}`));
    const randomAddress = () => `10.2.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;

    const run = (seconds: number) =>
      autocannon({
        url: `${url}/api/v1/me`,
        connections: CONNECTIONS,
        overallRate: RATE,
        duration: seconds,
        requests: [
          {
            setupRequest(request, context) {
              const { kind } = pick();
              const pool = keys[kind];
              const key = pool[Math.floor(Math.random() * pool.length)]!;
              context.kind = kind;
              request.headers = { ...request.headers, authorization: `Bearer ${key}`, "x-forwarded-for": addressOf.get(key) ?? randomAddress() };
              return request;
            },
            onResponse(status, body, context) {
              if (!counting || !context.kind) return;
              const tally = tallies.get(context.kind)!;
              tally.sent++;
              tally.byStatus.set(status, (tally.byStatus.get(status) ?? 0) + 1);
              const code = status === 200 ? "ok" : (/"code":"([a-z_]+)"/.exec(body)?.[1] ?? "?");
              tally.byCode.set(code, (tally.byCode.get(code) ?? 0) + 1);
            },
          },
        ],
      });

    const loadBefore = os.loadavg().map((n) => n.toFixed(2)).join(" ");
    const header = measured(`${database ? "DATABASE_URL=… " : ""}${redisUrl ? "REDIS_URL=… " : ""}npm run bench:load -- --rate ${RATE} --duration ${DURATION}`);
    const idle = residentMiB(pid);
    const heapMiB = async () => (await server!.usage()).memory.heapUsed / 1024 / 1024;
    const heapIdle = await heapMiB();
    if (WARMUP > 0) {
      process.stderr.write(`Warming up: ${RATE} req/s for ${WARMUP} s…\n`);
      await run(WARMUP);
    }
    const afterWarmup = residentMiB(pid);
    const heapAfterWarmup = await heapMiB();
    let peak = afterWarmup;
    const timeline: number[] = [];
    const sampler = setInterval(() => {
      const rss = residentMiB(pid);
      peak = Math.max(peak, rss);
      timeline.push(rss);
    }, 1000);
    process.stderr.write(`Load: ${RATE} req/s for ${DURATION} s over ${CONNECTIONS} connections…\n`);
    counting = true;
    const result = await run(DURATION);
    counting = false;
    clearInterval(sampler);
    const afterRun = residentMiB(pid);
    const heapAfterRun = await heapMiB();
    peak = Math.max(peak, afterRun);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const settled = residentMiB(pid);
    const heapSettled = await heapMiB();
    const loadAfter = os.loadavg().map((n) => n.toFixed(2)).join(" ");

    const statuses = new Map<number, number>();
    for (const [code, { count }] of Object.entries(result.statusCodeStats)) statuses.set(Number(code), Number(count));
    const total = [...statuses.values()].reduce((sum, n) => sum + n, 0);
    const inClass = (test: (status: number) => boolean) => [...statuses].filter(([status]) => test(status)).reduce((sum, [, n]) => sum + n, 0);
    const classes = {
      "2xx": inClass((s) => s >= 200 && s < 300),
      "401": inClass((s) => s === 401),
      "403": inClass((s) => s === 403),
      "429": inClass((s) => s === 429),
      "other 4xx": inClass((s) => s >= 400 && s < 500 && ![401, 403, 429].includes(s)),
      "5xx": inClass((s) => s >= 500),
    };
    let unexpected = 0;
    const kindRows = MIX.map(({ kind, weight }) => {
      const tally = tallies.get(kind)!;
      const wrong = [...tally.byStatus].filter(([status]) => !expected.get(kind)!.includes(status)).reduce((sum, [, n]) => sum + n, 0);
      unexpected += wrong;
      const describe = (map: Map<number | string, number>) => [...map].sort((a, b) => b[1] - a[1]).map(([key, n]) => `${key} ${formatCount(n)}`).join(", ");
      return [`${kind} (${weight} %)`, formatCount(tally.sent), describe(tally.byStatus), describe(tally.byCode), String(wrong)];
    });
    const mib = (n: number) => `${n.toFixed(1)} MiB`;

    process.stdout.write(
      `\nREST load, production build, GET /api/v1/me at ${RATE} req/s (autocannon overallRate, ${CONNECTIONS} connections) for ${DURATION} s after ${WARMUP} s of warm-up; ` +
        `${database ? "PostgreSQL" : "embedded PGlite"}${redisUrl ? " + Redis" : ""}; ${ACTIVE_KEYS} active keys; server and load on the same ${os.cpus().length} CPUs (Node ${process.version})\n` +
        `load average (1/5/15 min) before: ${loadBefore}, after: ${loadAfter}\n\n` +
        table(
          ["throughput", "responses", "p50", "p90", "p99", "max", "conn. errors", "timeouts"],
          [[`${(total / result.duration).toFixed(0)} req/s`, formatCount(total), `${result.latency.p50} ms`, `${result.latency.p90} ms`, `${result.latency.p99} ms`, `${result.latency.max} ms`, String(result.errors), String(result.timeouts)]],
        ) +
        `\n\n${table(Object.keys(classes), [Object.values(classes).map(formatCount)])}\n\n` +
        table(["request kind", "answered", "statuses", "codes", "unexpected"], kindRows) +
        `\n\n${table(
          ["server memory", "idle", "after warm-up", "peak", "after run", "5 s later", "growth over the run"],
          [
            ["RSS", mib(idle), mib(afterWarmup), mib(peak), mib(afterRun), mib(settled), `${(settled - afterWarmup).toFixed(1)} MiB`],
            ["JS heap after a full GC", mib(heapIdle), mib(heapAfterWarmup), "—", mib(heapAfterRun), mib(heapSettled), `${(heapSettled - heapAfterWarmup).toFixed(1)} MiB`],
          ],
        )}\n` +
        `RSS every ${Math.max(1, Math.round(timeline.length / 10))} s during the run: ${timeline.filter((_, i) => i % Math.max(1, Math.round(timeline.length / 10)) === 0).map((n) => n.toFixed(0)).join(", ")} MiB\n`,
    );
    const failures = [
      classes["5xx"] > 0 ? `${classes["5xx"]} × 5xx` : null,
      result.errors > 0 ? `${result.errors} connection errors` : null,
      unexpected > 0 ? `${unexpected} responses unexpected for their kind` : null,
    ].filter(Boolean);
    const backend = `${database ? "postgres" : "pglite"}${redisUrl ? "+redis" : ""}`;
    recordResults(
      "load",
      {
        [backend]: {
          ...header,
          backend,
          rate: RATE,
          seconds: DURATION,
          throughput: Math.round(total / result.duration),
          latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
          fiveXx: classes["5xx"],
          unexpected,
          connectionErrors: result.errors,
          heapGrowthMiB: Math.round((heapSettled - heapAfterWarmup) * 10) / 10,
          rssGrowthMiB: Math.round(settled - afterWarmup),
          passed: failures.length === 0,
        },
      },
      { merge: true },
    );
    if (failures.length > 0) {
      process.stdout.write(`\nFAILED: ${failures.join(", ")}\n`);
      if (classes["5xx"] > 0) process.stderr.write(`Server output:\n${server.output().slice(-4000)}\n`);
      process.exitCode = 1;
    } else {
      process.stdout.write(`\nPASSED: 0 × 5xx, every response as expected for its kind.\n`);
    }
  } finally {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    await database?.drop();
  }
}

await main();
