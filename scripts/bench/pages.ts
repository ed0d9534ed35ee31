/**
 * Dashboard page loaders at scale: how long each page's data takes on a big database.
 *
 *   npm run db:seed -- --keys 1000000 --days 30       # first: the database to measure
 *   npm run bench:pages                               # builds, starts the server on that database, 50 requests per page
 *   npm run bench:pages -- --url http://127.0.0.1:3000 --requests 100   # a server that is already running
 *
 * Without --url it starts `node build/server.js` itself on the database the environment names
 * (DATABASE_URL, or the embedded default in KEYWARD_DATA_DIR; REDIS_URL when set; all printed at start
 * and handed to the server explicitly: with NODE_ENV=production the secrets must be given, so for
 * the embedded default run it with NODE_ENV=development, which reads them from the data directory).
 * It signs in as the seeded admin (--email/--password), then requests each page's loader as a Remix
 * data request (`?_data=routes/…`, the loader alone, as client-side navigation does), one at a time,
 * `--requests` times after 3 warm-up requests, and reports p50/p95/max per page as the client saw
 * it, and what the server says it spent when the response has a Server-Timing header.
 *
 * Pages: the keys list (first page; a search; a status filter; a cursor `--depth` pages deep), the
 * overview (24 h and 30 days) and the page of the key with the most usage in the last 30 days, with
 * its 30-day chart by day and its 24-hour chart by hour. A page whose route does not exist (404) is
 * skipped and named; for the key page the fallback is the tRPC `usage.series` call it makes.
 * The target: p95 under 300 ms for every loader.
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { describeBackend, printEnvironment } from "../lib/bench-env";
import { measured, recordResults } from "../lib/bench-results";
import { table } from "../lib/format";
import { formatCount } from "../lib/progress";
import { startServerProcess } from "../lib/server-process";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    requests: { type: "string", default: "50" },
    depth: { type: "string", default: "50" },
    search: { type: "string", default: "billing" },
    email: { type: "string", default: "admin@keyward.local" },
    password: { type: "string", default: "admin-dev-password" },
  },
  strict: true,
});
const REQUESTS = Number(args.requests);
const DEPTH = Number(args.depth);
const WARMUP = 3;
const TARGET_P95_MS = 300;
const DAY_MS = 86_400_000;

interface Sample {
  ms: number;
  serverMs: number | null;
  bytes: number;
}

function startServer() {
  const env = {
    NODE_ENV: process.env.NODE_ENV ?? "production",
    KEYWARD_LOG_LEVEL: process.env.KEYWARD_LOG_LEVEL ?? "warn",
    KEYWARD_DATA_DIR: process.env.KEYWARD_DATA_DIR,
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
  };
  printEnvironment("bench:pages environment (the server's)", {
    NODE_ENV: env.NODE_ENV,
    KEYWARD_LOG_LEVEL: env.KEYWARD_LOG_LEVEL,
    KEYWARD_DATA_DIR: env.KEYWARD_DATA_DIR === undefined ? "unset (the app's default data directory)" : env.KEYWARD_DATA_DIR,
    ...describeBackend({ databaseUrl: env.DATABASE_URL, dataDir: env.KEYWARD_DATA_DIR, redisUrl: env.REDIS_URL }),
  });
  return startServerProcess(env);
}

async function signIn(url: string): Promise<string> {
  const response = await fetch(`${url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: url },
    body: new URLSearchParams({ email: args.email!, password: args.password! }),
  });
  const setCookie = response.headers.get("set-cookie");
  if (response.status !== 302 || !setCookie) throw new Error(`sign-in as ${args.email} failed (${response.status}): is the database seeded (npm run db:seed)?`);
  return setCookie.split(";")[0]!;
}

/** Total of the `dur` values in a Server-Timing header, or null without one. */
function serverTiming(header: string | null): number | null {
  if (!header) return null;
  const durations = [...header.matchAll(/dur=([\d.]+)/g)].map((match) => Number(match[1]));
  return durations.length > 0 ? durations.reduce((sum, n) => sum + n, 0) : null;
}

async function get(url: string, cookie: string): Promise<{ status: number; body: string; sample: Sample }> {
  const started = performance.now();
  const response = await fetch(url, { headers: { Cookie: cookie } });
  const body = await response.text();
  return { status: response.status, body, sample: { ms: performance.now() - started, serverMs: serverTiming(response.headers.get("server-timing")), bytes: body.length } };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface PageResult {
  page: string;
  samples?: Sample[];
  skipped?: string;
}

async function measure(page: string, url: string, cookie: string): Promise<PageResult> {
  const first = await get(url, cookie);
  if (first.status === 404) return { page, skipped: "404: the route does not exist in this build" };
  if (first.status !== 200) throw new Error(`${page}: ${first.status} ${first.body.slice(0, 300)}`);
  for (let i = 1; i < WARMUP; i++) await get(url, cookie);
  const samples: Sample[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const { status, sample } = await get(url, cookie);
    if (status !== 200) throw new Error(`${page}: ${status} on request ${i + 1}`);
    samples.push(sample);
  }
  process.stderr.write(`  ${page}: done\n`);
  return { page, samples };
}

/** A tRPC query through the HTTP adapter (no transformer: the input is plain JSON). */
async function trpc<T>(url: string, cookie: string, procedure: string, input: unknown): Promise<T> {
  const { status, body } = await get(`${url}/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, cookie);
  if (status !== 200) throw new Error(`${procedure}: ${status} ${body.slice(0, 300)}`);
  return (JSON.parse(body) as { result: { data: T } }).result.data;
}

async function main(): Promise<void> {
  if (!Number.isInteger(REQUESTS) || REQUESTS < 1 || !Number.isInteger(DEPTH) || DEPTH < 1) throw new Error("--requests and --depth must be whole numbers ≥ 1");
  if (args.url) printEnvironment("bench:pages", { server: `${args.url} (already running, on its own environment)` });
  const server = args.url ? null : await startServer();
  const base = args.url ?? server!.url;
  try {
    const cookie = await signIn(base);
    const keysData = (query: string) => `${base}/keys?${query}${query ? "&" : ""}_data=${encodeURIComponent("routes/_app.keys._index")}`;

    process.stderr.write(`Following the keys list ${DEPTH} pages deep…\n`);
    let cursor: string | null = null;
    for (let page = 0; page < DEPTH; page++) {
      const { status, body } = await get(keysData(cursor ? `cursor=${encodeURIComponent(cursor)}` : ""), cookie);
      if (status !== 200) throw new Error(`keys list page ${page + 1}: ${status}`);
      const next = (JSON.parse(body) as { nextCursor: string | null }).nextCursor;
      if (!next) break;
      cursor = next;
    }
    const summary = await trpc<{ topKeys: { keyId: string; requests: number }[] }>(base, cookie, "usage.summary", {
      from: new Date(Date.now() - 30 * DAY_MS).toISOString(),
      top: 1,
    });
    const busiest = summary.topKeys[0]?.keyId;
    const { total, active } = await countKeys(base, cookie);

    process.stderr.write(`Measuring ${REQUESTS} requests per page…\n`);
    const header = measured(`npm run bench:pages -- --requests ${REQUESTS}`);
    const results: PageResult[] = [];
    results.push(await measure("keys list, first page", keysData(""), cookie));
    results.push(await measure(`keys list, search "${args.search}"`, keysData(`q=${encodeURIComponent(args.search!)}`), cookie));
    results.push(await measure("keys list, status revoked", keysData("status=revoked"), cookie));
    results.push(await measure("keys list, status active + search", keysData(`status=active&q=${encodeURIComponent(args.search!)}`), cookie));
    if (cursor) results.push(await measure(`keys list, cursor ${DEPTH} pages deep`, keysData(`cursor=${encodeURIComponent(cursor)}`), cookie));
    const overview = (range: string) => `${base}/overview?range=${range}&_data=${encodeURIComponent("routes/_app.overview")}`;
    results.push(await measure("overview, 24 h", overview("24h"), cookie));
    results.push(await measure("overview, 30 days", overview("30d"), cookie));
    if (busiest) {
      const keyPage = (g: string) => `${base}/keys/${busiest}?g=${g}&_data=${encodeURIComponent("routes/_app.keys.$id")}`;
      for (const [label, g, days, granularity] of [["30 days by day", "day", 30, "day"], ["24 h by hour", "hour", 1, "hour"]] as const) {
        const result = await measure(`key page, ${label}`, keyPage(g), cookie);
        results.push(result);
        if (result.skipped) {
          const input = { id: busiest, granularity, from: new Date(Date.now() - days * DAY_MS).toISOString(), to: new Date().toISOString() };
          results.push(await measure(`tRPC usage.series, ${label}`, `${base}/api/trpc/usage.series?input=${encodeURIComponent(JSON.stringify(input))}`, cookie));
        }
      }
    } else {
      results.push({ page: "key page", skipped: "no key has usage in the last 30 days (seed with --days)" });
    }

    const ms = (n: number) => `${n.toFixed(1)} ms`;
    const rows = results.map(({ page, samples, skipped }) => {
      if (!samples) return [page, "skipped", "", "", "", "", "", skipped!];
      const client = samples.map((s) => s.ms).sort((a, b) => a - b);
      const server = samples.map((s) => s.serverMs).filter((n): n is number => n !== null).sort((a, b) => a - b);
      const p95 = percentile(client, 95);
      return [
        page,
        ms(percentile(client, 50)),
        ms(p95),
        ms(client.at(-1)!),
        server.length > 0 ? ms(percentile(server, 50)) : "—",
        server.length > 0 ? ms(percentile(server, 95)) : "—",
        `${(samples.reduce((sum, s) => sum + s.bytes, 0) / samples.length / 1024).toFixed(1)} KiB`,
        p95 < TARGET_P95_MS ? "ok" : `OVER ${TARGET_P95_MS} ms`,
      ];
    });
    process.stdout.write(
      `\nDashboard loaders (Remix data requests, one at a time, ${REQUESTS} per page after ${WARMUP} warm-up), ${formatCount(total)} keys (${formatCount(active)} active), ` +
        `${server ? "server started by this script" : `server at ${base}`}; ${os.cpus().length} CPUs, load average ${os.loadavg().map((n) => n.toFixed(2)).join(" ")}\n\n` +
        table(["page", "p50", "p95", "max", "server p50", "server p95", "size", `p95 < ${TARGET_P95_MS} ms`], rows) +
        `\n\nServer p50/p95: the Server-Timing header's total, when the server sends one ("—": it does not).\n`,
    );
    if (rows.some((row) => row[7]!.startsWith("OVER"))) process.exitCode = 1;
    if (!args.url) {
      const pages = results.flatMap(({ page, samples }) => {
        if (!samples) return [];
        const client = samples.map((s) => s.ms).sort((a, b) => a - b);
        const tenth = (n: number) => Math.round(n * 10) / 10;
        return [{ page, p50: tenth(percentile(client, 50)), p95: tenth(percentile(client, 95)), max: tenth(client.at(-1)!) }];
      });
      recordResults("pages", { ...header, backend: process.env.DATABASE_URL ? "postgres" : "pglite", keys: total, pages });
    }
  } finally {
    await server?.stop();
  }
}

/** Key counts from the overview service (tRPC), for the report's header. */
async function countKeys(base: string, cookie: string): Promise<{ total: number; active: number }> {
  try {
    const overview = await trpc<{ keys: { total: number; active: number } }>(base, cookie, "overview.get", { range: "24h" });
    return overview.keys;
  } catch {
    return { total: Number.NaN, active: Number.NaN };
  }
}

await main();
