import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The one results file every benchmark writes its section of (bench-results/results.json,
 * committed beside the README). `npm run bench:readme` makes the README's figures from it and
 * `tests/docs/readme-figures.test.ts` fails the build when the two disagree, so a published
 * figure cannot outlive the run it came from.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const RESULTS_FILE = path.join(ROOT, "bench-results/results.json");

/** Where and when a section was measured: every figure carries its machine and load. */
export interface Measured {
  measuredAt: string;
  command: string;
  node: string;
  cpus: number;
  /** The 1-minute load average just before the measurement. */
  loadAverage: number;
}

export interface RestRun {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  perRound: number[];
}

export interface RestBackendResult {
  backend: string;
  loadAverageBefore: number;
  targets: Record<"bare" | "health" | "verifyMetered" | "verifyUnmetered" | "me" | "meTwin", RestRun>;
  /** Open loop (scripts/lib/paced-load.ts): latency from each request's due time. */
  fixedRate: { rate: number; run: Omit<RestRun, "perRound"> & { p999?: number; max?: number } };
  ratios: { healthVsBare: number; verifyMeteredVsBare: number; verifyUnmeteredVsBare: number; meteredVsUnmetered: number; meVsTwin: number };
}

export interface RestResults {
  benchmark: "rest";
  measuredAt: string;
  node: string;
  cpus: number;
  connections: number;
  seconds: number;
  rounds: number;
  results: RestBackendResult[];
}

export interface Percentiles {
  p50: number;
  p99: number;
}

export interface LimiterResult {
  decisionsPerSecond: number;
  idle: Percentiles;
  loaded: Percentiles;
  mode: string;
}

export interface LimiterResults extends Measured {
  /** Per engine ("local", "redis"), per scenario ("1 hot key", "10,000 keys"). */
  engines: Record<string, Record<string, LimiterResult> | null>;
}

export interface VerifyResults extends Measured {
  backend: string;
  keys: number;
  /** Milliseconds. */
  hit: Percentiles & { max: number };
  miss: Percentiles & { max: number };
}

export interface SdkGuardResults extends Measured {
  /** Milliseconds. */
  guardCached: Percentiles & { mean: number };
  verifyRoundTrip: Percentiles & { mean: number };
  guardUncached: Percentiles & { mean: number };
  pacingOff: Percentiles & { mean: number };
  pacingOn: Percentiles & { mean: number };
}

export interface LoadResults extends Measured {
  backend: string;
  rate: number;
  seconds: number;
  throughput: number;
  latency: { p50: number; p90: number; p99: number; max: number };
  fiveXx: number;
  unexpected: number;
  connectionErrors: number;
  heapGrowthMiB: number;
  rssGrowthMiB: number;
  passed: boolean;
}

export interface PagesResults extends Measured {
  backend: string;
  keys: number;
  /** Milliseconds, as the client saw them. */
  pages: { page: string; p50: number; p95: number; max: number }[];
}

export interface BenchResults {
  rest?: RestResults;
  limiter?: LimiterResults;
  /** Per backend ("pglite", "postgres"). */
  verify?: Record<string, VerifyResults>;
  sdkGuard?: SdkGuardResults;
  /** Per backend ("pglite", "postgres+redis"). */
  load?: Record<string, LoadResults>;
  pages?: PagesResults;
}

export function readResults(file = RESULTS_FILE): BenchResults {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as BenchResults) : {};
}

/** The header every section carries, taken now. */
export function measured(command: string): Measured {
  return { measuredAt: new Date().toISOString(), command, node: process.version, cpus: os.cpus().length, loadAverage: Math.round(os.loadavg()[0]! * 100) / 100 };
}

/**
 * Writes one section of the results file, keeping the others (BENCH_RESULTS names another file,
 * e.g. for a trial run that must not replace the committed figures). `merge` keeps the section's
 * other backends when a benchmark ran on one of them.
 */
export function recordResults<K extends keyof BenchResults>(section: K, value: NonNullable<BenchResults[K]>, options: { merge?: boolean } = {}): string {
  const file = process.env.BENCH_RESULTS ? path.resolve(process.env.BENCH_RESULTS) : RESULTS_FILE;
  const results = readResults(file);
  const previous = results[section];
  results[section] = (options.merge && previous ? { ...previous, ...value } : value) as BenchResults[K];
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stderr.write(`\nResults written to ${path.relative(process.cwd(), file)} (${section}); \`npm run bench:readme\` puts them in the README\n`);
  return file;
}
