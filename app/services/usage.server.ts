import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import type { Database } from "../../db/client.server";
import { apiKeys, identities, requestLog, usageDays, usageHours, usageMinutes, verificationDays, verificationHours, verificationMinutes } from "../../db/schema";
import { afterCursor, encodeCursor, pageOf, type Page } from "../lib/cursor";
import { logger } from "../lib/logger.server";
import {
  requestLogInput,
  usageSeriesInput,
  usageSummaryInput,
  type Granularity,
  type RequestLogInput,
  type UsageSeriesInput,
  type UsageSummaryInput,
} from "../lib/usage-schemas";
import { requireScope, type Actor } from "./actor.server";
import type { Clock } from "./clock.server";
import { KeywardError } from "./errors.server";
import type { EventBus } from "./events.server";
import { accessConditions, type ApiService } from "./apis.server";
import { balanceAt } from "./credits.server";
import { LOW_CREDITS } from "../lib/credits";
import type { IdentityService } from "./identities.server";
import type { KeyService } from "./keys.server";
import { VERIFY_CODES } from "./verification-cache.server";

/** One API request made with an identified key, as the API-key middleware reports it. */
export interface RecordedRequest {
  keyId: string;
  /**
   * False when the admission refused it (bad status, rate limit, allowlist, scope): it is counted
   * and logged, but only an accepted request moves the key's last use and request count.
   */
  accepted: boolean;
  at: Date;
  method: string;
  /** Without the query string (dropped here if present). */
  path: string;
  status: number;
  /** The client's address as KEYWARD_TRUST_PROXY resolves it. */
  clientIp: string;
  durationMs: number;
  userAgent: string | null;
  requestId: string;
}

/** One verification of an identified issued key (every outcome but INVALID), as `verifyIssuedKey` reports it. */
export interface RecordedVerification {
  keyId: string;
  apiId: string;
  identityId: string | null;
  /** VALID or the refusal's code. */
  outcome: string;
  at: Date;
  /** The address the verifying service passed for its caller, if any. */
  ip: string | null;
  tags: string[];
  /** The root key that asked (null for a session). */
  rootKeyId: string | null;
  requestId: string | null;
  durationMs: number;
  /** Verifications alike in all of the above (a guard's report of cached admissions); each is counted and logged. @default 1 */
  count?: number;
  /** The request that made it, for the log: verify's, or the report of a guard that answered from its cache. @default VERIFY_PATH */
  path?: string;
}

/** Where a verification is logged: the request that made it. */
const VERIFY_METHOD = "POST";
export const VERIFY_PATH = "/api/v1/verify";

export interface UsageCounts {
  requests: number;
  success: number;
  denied: number;
  rateLimited: number;
  errors: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** Rows per statement: stays far below Postgres' 65 535 parameters. */
const CHUNK = 500;
/** Key ids per NOTIFY: Postgres caps a payload at 8000 bytes. */
const IDS_PER_NOTIFY = 200;

/** What a response status counts as, besides being a request. Other 4xx (400, 404, 422…) count as requests only. */
function outcomeOf(status: number): Exclude<keyof UsageCounts, "requests"> | null {
  if (status < 400) return "success";
  if (status === 401 || status === 403) return "denied";
  if (status === 429) return "rateLimited";
  if (status >= 500) return "errors";
  return null;
}

const zeroCounts = (): UsageCounts => ({ requests: 0, success: 0, denied: 0, rateLimited: 0, errors: 0 });
const COUNT_FIELDS = ["requests", "success", "denied", "rateLimited", "errors"] as const;

interface CounterRow extends UsageCounts {
  keyId: string;
  minute: Date;
}

interface VerificationRow {
  keyId: string;
  apiId: string;
  /** Empty when the key has no identity (the tables' primary key cannot hold null). */
  identityId: string;
  outcome: string;
  minute: Date;
  count: number;
}

interface LastUse {
  at: Date;
  /** Null when the use came without an address (a verification whose service passed no `ip`): the stored one stays. */
  ip: string | null;
  count: number;
}

type LogRow = typeof requestLog.$inferInsert;

interface Pending {
  counters: Map<string, CounterRow>;
  /** Verifications per key × minute × outcome. */
  verifications: Map<string, VerificationRow>;
  /** Accepted requests and VALID verifications only. */
  lastUse: Map<string, LastUse>;
  log: LogRow[];
}

const emptyPending = (): Pending => ({ counters: new Map(), verifications: new Map(), lastUse: new Map(), log: [] });

export interface UsageRecorderDeps {
  db: Database;
  /** Told `usage.flushed` after every flush that wrote something, so dashboards can refresh. */
  events?: Pick<EventBus, "publish">;
  /** @default 2000 */
  flushIntervalMs?: number;
  /** Request-log rows held while writes fail; new rows beyond it are dropped (and counted). @default 100_000 */
  maxPendingRequests?: number;
  /** Counter rows (key × minute, and verification rows key × minute × outcome, each) held while writes fail. @default 100_000 */
  maxPendingCounters?: number;
}

/**
 * Usage counters, verification counters, last use and the request log, with no database write on
 * the request path: `record` and `recordVerification` only add to memory; a timer writes everything in one transaction of batched statements
 * every `flushIntervalMs`, and `close` writes what is left. A failed write keeps its data for the
 * next one (within the bounds above). A crash loses at most one interval.
 */
export class UsageRecorder {
  private pending = emptyPending();
  private timer?: ReturnType<typeof setInterval>;
  private flushing: Promise<void> = Promise.resolve();
  private dropped = 0;

  constructor(private readonly deps: UsageRecorderDeps) {}

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.deps.flushIntervalMs ?? 2000);
    this.timer.unref();
  }

  record(request: RecordedRequest): void {
    const minute = Math.floor(request.at.getTime() / MINUTE_MS) * MINUTE_MS;
    const slot = `${request.keyId}|${minute}`;
    let counters = this.pending.counters.get(slot);
    if (!counters && this.pending.counters.size < (this.deps.maxPendingCounters ?? 100_000)) {
      counters = { keyId: request.keyId, minute: new Date(minute), ...zeroCounts() };
      this.pending.counters.set(slot, counters);
    }
    if (counters) {
      counters.requests++;
      const outcome = outcomeOf(request.status);
      if (outcome) counters[outcome]++;
    } else {
      this.dropped++;
    }

    // A refusal is counted above (as denied or rate limited), but it is no use of the key.
    if (request.accepted) this.noteUse(request.keyId, request.at, request.clientIp);

    this.log({
      occurredAt: request.at,
      keyId: request.keyId,
      method: request.method.slice(0, 16),
      path: request.path.split("?")[0]!.slice(0, 2048),
      status: request.status,
      clientIp: request.clientIp,
      durationMs: request.durationMs,
      userAgent: request.userAgent?.slice(0, 512) ?? null,
      requestId: request.requestId.slice(0, 128),
    });
  }

  /**
   * A verification of an issued key: counted by outcome for the key (and so its API and identity),
   * one line in the key's request log, and, when VALID only, a use of the key (last use, request count).
   */
  /** Verifications recorded since start, by `apiId|outcome` (read by the metrics endpoint; bounded by APIs × outcomes). */
  readonly verificationTotals = new Map<string, number>();
  /** The last flush: when it ended, how long it took, whether it wrote everything. */
  lastFlush: { at: number; durationMs: number; ok: boolean } | null = null;

  /** Entries waiting for the next flush: request-log lines and counter rows. */
  get buffered(): number {
    const { counters, verifications, lastUse, log } = this.pending;
    return counters.size + verifications.size + lastUse.size + log.length;
  }

  recordVerification(verification: RecordedVerification): void {
    const count = verification.count ?? 1;
    const total = `${verification.apiId}|${verification.outcome}`;
    this.verificationTotals.set(total, (this.verificationTotals.get(total) ?? 0) + count);
    const minute = Math.floor(verification.at.getTime() / MINUTE_MS) * MINUTE_MS;
    const slot = `${verification.keyId}|${minute}|${verification.outcome}`;
    let row = this.pending.verifications.get(slot);
    if (!row && this.pending.verifications.size < (this.deps.maxPendingCounters ?? 100_000)) {
      const { keyId, apiId, identityId, outcome } = verification;
      row = { keyId, apiId, identityId: identityId ?? "", outcome, minute: new Date(minute), count: 0 };
      this.pending.verifications.set(slot, row);
    }
    if (row) row.count += count;
    else this.dropped += count;

    if (verification.outcome === "VALID") this.noteUse(verification.keyId, verification.at, verification.ip, count);

    const line: LogRow = {
      occurredAt: verification.at,
      keyId: verification.keyId,
      method: VERIFY_METHOD,
      path: verification.path ?? VERIFY_PATH,
      // The verify call itself succeeded; what it found is the outcome.
      status: 200,
      clientIp: verification.ip,
      durationMs: verification.durationMs,
      userAgent: null,
      requestId: verification.requestId?.slice(0, 128) ?? null,
      apiId: verification.apiId,
      identityId: verification.identityId,
      outcome: verification.outcome,
      tags: verification.tags,
      rootKeyId: verification.rootKeyId,
    };
    for (let i = 0; i < count; i++) this.log(line);
  }

  private log(row: LogRow): void {
    if (this.pending.log.length >= (this.deps.maxPendingRequests ?? 100_000)) this.dropped++;
    else this.pending.log.push(row);
  }

  /** A use without an address moves the time and the count, and leaves the address last seen. */
  private noteUse(keyId: string, at: Date, ip: string | null, count = 1): void {
    const last = this.pending.lastUse.get(keyId);
    if (!last) this.pending.lastUse.set(keyId, { at, ip, count });
    else {
      last.count += count;
      if (at >= last.at) Object.assign(last, { at, ip: ip ?? last.ip });
    }
  }

  /** Writes everything recorded so far; resolves once written (or, if the write failed, once it is queued again). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    if (batch.counters.size === 0 && batch.verifications.size === 0 && batch.lastUse.size === 0 && batch.log.length === 0) return;
    this.pending = emptyPending();
    const started = performance.now();
    try {
      await this.deps.db.transaction(async (tx) => {
        for (const rows of chunks([...batch.counters.values()], CHUNK)) {
          await tx.insert(usageMinutes).values(rows).onConflictDoUpdate({ target: [usageMinutes.keyId, usageMinutes.minute], set: addedCounts(usageMinutes) });
        }
        for (const rows of chunks(rolledUp(batch.counters.values(), HOUR_MS), CHUNK)) {
          const values = rows.map(({ start, ...row }) => ({ ...row, hour: start }));
          await tx.insert(usageHours).values(values).onConflictDoUpdate({ target: [usageHours.keyId, usageHours.hour], set: addedCounts(usageHours) });
        }
        for (const rows of chunks(rolledUp(batch.counters.values(), DAY_MS), CHUNK)) {
          const values = rows.map(({ start, ...row }) => ({ ...row, day: start }));
          await tx.insert(usageDays).values(values).onConflictDoUpdate({ target: [usageDays.keyId, usageDays.day], set: addedCounts(usageDays) });
        }
        await writeVerifications(tx, [...batch.verifications.values()]);
        for (const uses of chunks([...batch.lastUse], CHUNK)) {
          const values = sql.join(
            uses.map(([keyId, use]) => sql`(${keyId}, ${use.at.toISOString()}::timestamptz, ${use.ip}::text, ${use.count}::bigint)`),
            sql`, `,
          );
          // Another instance may have flushed a later use already: last-used moves forward only.
          await tx.execute(sql`
            update api_keys as k set
              request_count = k.request_count + v.n,
              last_used_at = greatest(k.last_used_at, v.at),
              last_used_ip = case when k.last_used_at is null or v.at >= k.last_used_at then coalesce(v.ip, k.last_used_ip) else k.last_used_ip end
            from (values ${values}) as v(id, at, ip, n)
            where k.id = v.id`);
        }
        for (const rows of chunks(batch.log, CHUNK)) await insertRequestLog(tx, rows);
      });
    } catch (error) {
      logger.error({ err: error }, "Could not write usage; keeping it for the next flush");
      this.requeue(batch);
      this.lastFlush = { at: Date.now(), durationMs: performance.now() - started, ok: false };
      return;
    }
    this.lastFlush = { at: Date.now(), durationMs: performance.now() - started, ok: true };
    if (this.dropped > 0) {
      logger.warn({ dropped: this.dropped }, `Usage: ${this.dropped} request(s) could not be buffered while writes were failing (buffer full)`);
      this.dropped = 0;
    }
    const touched = [...batch.counters.values(), ...batch.verifications.values()].map((row) => row.keyId);
    await this.announce([...new Set([...touched, ...batch.lastUse.keys()])]);
  }

  private async announce(keyIds: string[]): Promise<void> {
    if (!this.deps.events) return;
    try {
      for (const ids of chunks(keyIds, IDS_PER_NOTIFY)) await this.deps.events.publish({ type: "usage.flushed", keyIds: ids });
    } catch (error) {
      // The data is written; only the live refresh is missed.
      logger.error({ err: error }, "Could not announce a usage flush");
    }
  }

  /** Puts an unwritten batch back in front of what arrived meanwhile, within the bounds. */
  private requeue(batch: Pending): void {
    const newer = this.pending;
    this.pending = batch;
    for (const [slot, row] of newer.counters) {
      const older = batch.counters.get(slot);
      if (older) for (const field of COUNT_FIELDS) older[field] += row[field];
      else if (batch.counters.size < (this.deps.maxPendingCounters ?? 100_000)) batch.counters.set(slot, row);
      else this.dropped += row.requests;
    }
    for (const [slot, row] of newer.verifications) {
      const older = batch.verifications.get(slot);
      if (older) older.count += row.count;
      else if (batch.verifications.size < (this.deps.maxPendingCounters ?? 100_000)) batch.verifications.set(slot, row);
      else this.dropped += row.count;
    }
    for (const [keyId, use] of newer.lastUse) {
      const older = batch.lastUse.get(keyId);
      if (!older) batch.lastUse.set(keyId, use);
      else {
        older.count += use.count;
        if (use.at >= older.at) Object.assign(older, { at: use.at, ip: use.ip ?? older.ip });
      }
    }
    const room = Math.max(0, (this.deps.maxPendingRequests ?? 100_000) - batch.log.length);
    batch.log.push(...newer.log.slice(0, room));
    this.dropped += newer.log.length - Math.min(room, newer.log.length);
  }
}

/** Verification counters into the minute table and its hour and day roll-ups, added to what other instances wrote. */
/** The request log's columns as the flush writes them: name, then type for jsonb_to_recordset. */
const LOG_COLUMNS: [keyof LogRow, string, string][] = [
  ["occurredAt", "occurred_at", "timestamptz"],
  ["keyId", "key_id", "text"],
  ["method", "method", "text"],
  ["path", "path", "text"],
  ["status", "status", "integer"],
  ["clientIp", "client_ip", "text"],
  ["durationMs", "duration_ms", "real"],
  ["userAgent", "user_agent", "text"],
  ["requestId", "request_id", "text"],
  ["apiId", "api_id", "text"],
  ["identityId", "identity_id", "text"],
  ["outcome", "outcome", "text"],
  ["tags", "tags", "text[]"],
  ["rootKeyId", "root_key_id", "text"],
];
const LOG_COLUMN_NAMES = sql.raw(LOG_COLUMNS.map(([, column]) => column).join(", "));
const LOG_RECORD = sql.raw(LOG_COLUMNS.map(([, column, type]) => `${column} ${type}`).join(", "));

/**
 * Request-log rows as one JSON parameter, expanded by Postgres (jsonb_to_recordset). Building the
 * same INSERT with drizzle's `values()` checks and binds each of its 14 × 500 parameters one by one,
 * which under verification load (one row per verification) was the largest part of a flush's CPU.
 */
async function insertRequestLog(tx: Pick<Database, "execute">, rows: LogRow[]): Promise<void> {
  const records = JSON.stringify(rows.map((row) => Object.fromEntries(LOG_COLUMNS.map(([field, column]) => [column, row[field] ?? null]))));
  await tx.execute(sql`insert into request_log (${LOG_COLUMN_NAMES}) select ${LOG_COLUMN_NAMES} from jsonb_to_recordset(${records}::jsonb) as v(${LOG_RECORD})`);
}

async function writeVerifications(tx: Pick<Database, "insert">, minutes: VerificationRow[]): Promise<void> {
  for (const rows of chunks(minutes, CHUNK)) {
    await tx.insert(verificationMinutes).values(rows).onConflictDoUpdate({
      target: [verificationMinutes.keyId, verificationMinutes.minute, verificationMinutes.outcome],
      set: { count: sql`${verificationMinutes.count} + excluded.count` },
    });
  }
  for (const rows of chunks(rolledUpVerifications(minutes, HOUR_MS), CHUNK)) {
    const values = rows.map(({ start, ...row }) => ({ ...row, hour: start }));
    await tx.insert(verificationHours).values(values).onConflictDoUpdate({
      target: [verificationHours.keyId, verificationHours.hour, verificationHours.outcome],
      set: { count: sql`${verificationHours.count} + excluded.count` },
    });
  }
  for (const rows of chunks(rolledUpVerifications(minutes, DAY_MS), CHUNK)) {
    const values = rows.map(({ start, ...row }) => ({ ...row, day: start }));
    await tx.insert(verificationDays).values(values).onConflictDoUpdate({
      target: [verificationDays.keyId, verificationDays.day, verificationDays.outcome],
      set: { count: sql`${verificationDays.count} + excluded.count` },
    });
  }
}

/** Verification minute rows summed per key, outcome and bucket (an hour or a day, UTC). */
function rolledUpVerifications(minutes: VerificationRow[], bucketMs: number): (Omit<VerificationRow, "minute"> & { start: Date })[] {
  const buckets = new Map<string, Omit<VerificationRow, "minute"> & { start: Date }>();
  for (const { minute, ...row } of minutes) {
    const start = Math.floor(minute.getTime() / bucketMs) * bucketMs;
    const slot = `${row.keyId}|${start}|${row.outcome}`;
    const bucket = buckets.get(slot);
    if (bucket) bucket.count += row.count;
    else buckets.set(slot, { ...row, start: new Date(start) });
  }
  return [...buckets.values()];
}

/** An upsert's SET that adds the incoming counts to the stored ones (several instances flush into one row). */
function addedCounts(table: typeof usageMinutes | typeof usageHours | typeof usageDays) {
  return {
    requests: sql`${table.requests} + excluded.requests`,
    success: sql`${table.success} + excluded.success`,
    denied: sql`${table.denied} + excluded.denied`,
    rateLimited: sql`${table.rateLimited} + excluded.rate_limited`,
    errors: sql`${table.errors} + excluded.errors`,
  };
}

/** Minute counters summed per key and bucket (an hour or a day, UTC), for the roll-up tables. */
function rolledUp(minutes: Iterable<CounterRow>, bucketMs: number): (UsageCounts & { keyId: string; start: Date })[] {
  const buckets = new Map<string, UsageCounts & { keyId: string; start: Date }>();
  for (const { keyId, minute, ...counts } of minutes) {
    const start = Math.floor(minute.getTime() / bucketMs) * bucketMs;
    const slot = `${keyId}|${start}`;
    let row = buckets.get(slot);
    if (!row) buckets.set(slot, (row = { keyId, start: new Date(start), ...zeroCounts() }));
    for (const field of COUNT_FIELDS) row[field] += counts[field];
  }
  return [...buckets.values()];
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

// Reads ----------------------------------------------------------------------------------------

export interface UsagePoint extends UsageCounts {
  /** Start of the bucket, ISO 8601 UTC. */
  t: string;
}

export interface UsageSeries {
  keyId: string;
  granularity: Granularity;
  from: string;
  to: string;
  /** Every bucket from `from` (rounded down to the bucket) up to `to`, zeros included, oldest first. */
  points: UsagePoint[];
  totals: UsageCounts;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  /** An issued key's verifications by outcome, over the same buckets (absent for a root key). */
  verifications?: VerificationSeries;
}

export interface UsageSummary {
  from: string;
  to: string;
  totals: UsageCounts;
  /** Keys with any request in the range. */
  activeKeys: number;
  /** The busiest keys, most requests first. */
  topKeys: (UsageCounts & { keyId: string; name: string | null; ownerId: string | null })[];
}

export interface RequestLogEntry {
  id: number;
  occurredAt: string;
  method: string;
  path: string;
  status: number;
  clientIp: string | null;
  durationMs: number;
  userAgent: string | null;
  requestId: string | null;
  /** Set on a verification of an issued key: its outcome code, the caller's tags, the key's API and identity, and the root key that asked. */
  outcome: string | null;
  tags: string[] | null;
  apiId: string | null;
  identityId: string | null;
  rootKeyId: string | null;
}

const BUCKET_MS: Record<Granularity, number> = { minute: MINUTE_MS, hour: HOUR_MS, day: DAY_MS };

/** Longest range per granularity: minute-level data over more than 90 days is refused (choose a coarser one). */
export const MAX_RANGE_DAYS: Record<Granularity, number> = { minute: 90, hour: 366, day: 3660 };

/** Sums over the rows of `usageRows` (or either table), zero over no rows. */
export const summedCounts = {
  requests: sql<number>`coalesce(sum(requests), 0)`.mapWith(Number),
  success: sql<number>`coalesce(sum(success), 0)`.mapWith(Number),
  denied: sql<number>`coalesce(sum(denied), 0)`.mapWith(Number),
  rateLimited: sql<number>`coalesce(sum(rate_limited), 0)`.mapWith(Number),
  errors: sql<number>`coalesce(sum(errors), 0)`.mapWith(Number),
};

/** Where one family of counters lives, coarsest first: each level's table, its time column, its bucket; and the counted columns. */
interface CounterFamily {
  levels: readonly { table: SQL; time: SQL; ms: number }[];
  columns: SQL;
}

const counterFamily = (prefix: "usage" | "verification", columns: string): CounterFamily => ({
  levels: [
    { table: sql.raw(`${prefix}_days`), time: sql.raw("day"), ms: DAY_MS },
    { table: sql.raw(`${prefix}_hours`), time: sql.raw("hour"), ms: HOUR_MS },
    { table: sql.raw(`${prefix}_minutes`), time: sql.raw("minute"), ms: MINUTE_MS },
  ],
  columns: sql.raw(columns),
});

const REQUESTS = counterFamily("usage", "requests, success, denied, rate_limited, errors");
const VERIFICATIONS = counterFamily("verification", "identity_id, outcome, count");

/** Rows of one level in [from, to) in the shape of `usageRows`. */
function levelRows(family: CounterFamily, depth: number, from: Date, to: Date, keys: SQL): SQL {
  const level = family.levels[depth]!;
  return sql`(select key_id, ${level.time} as t, ${family.columns} from ${level.table}
    where ${level.time} >= ${from.toISOString()}::timestamptz and ${level.time} < ${to.toISOString()}::timestamptz and ${keys})`;
}

/** The whole buckets of level `depth` inside [from, to), and the edges from the finer levels. */
function rowsFrom(family: CounterFamily, depth: number, from: Date, to: Date, keys: SQL): SQL[] {
  const level = family.levels[depth]!;
  if (depth === family.levels.length - 1) return from < to ? [levelRows(family, depth, from, to, keys)] : [];
  const first = new Date(Math.ceil(from.getTime() / level.ms) * level.ms);
  const last = new Date(Math.floor(to.getTime() / level.ms) * level.ms);
  if (first >= last) return rowsFrom(family, depth + 1, from, to, keys);
  return [levelRows(family, depth, first, last, keys), ...rowsFrom(family, depth + 1, from, first, keys), ...rowsFrom(family, depth + 1, last, to, keys)];
}

function familyRows(family: CounterFamily, from: Date, to: Date, keys: SQL, bucketMs: number): SQL {
  const coarsest = family.levels.findIndex((level) => bucketMs % level.ms === 0);
  const parts = rowsFrom(family, coarsest, from, to, keys);
  return parts.length === 0 ? levelRows(family, family.levels.length - 1, from, to, keys) : sql`(${sql.join(parts, sql` union all `)})`;
}

/**
 * Usage in [from, to) as a subquery of rows (key_id, t, counts), to select from `as u`: whole days
 * from `usage_days`, whole hours at their edges from `usage_hours`, minutes at the outer edges from
 * `usage_minutes`, so sums are exact at any bounds and a month reads ~30 rows per key instead of
 * 43 200. `t` is the start of the row's own bucket, so a chart by `bucketMs` reads only levels whose
 * buckets divide it (no days for an hourly chart). `keys` narrows by `key_id`.
 */
export function usageRows(from: Date, to: Date, keys: SQL = sql`true`, bucketMs: number = DAY_MS): SQL {
  return familyRows(REQUESTS, from, to, keys, bucketMs);
}

/** Verifications in [from, to) as rows (key_id, t, identity_id, outcome, count), read like `usageRows`; `where` narrows by key_id, api_id or identity_id. */
export function verificationRows(from: Date, to: Date, where: SQL, bucketMs: number = DAY_MS): SQL {
  return familyRows(VERIFICATIONS, from, to, where, bucketMs);
}

/** The start of a row's bucket at `granularity`, in epoch ms, over rows whose `t` is their own bucket's start. */
function bucketOf(granularity: Granularity): SQL<number> {
  const start = granularity === "minute" ? sql`t` : sql`date_trunc(${sql.raw(`'${granularity}'`)}, t at time zone 'UTC') at time zone 'UTC'`;
  return sql<number>`floor(extract(epoch from ${start}) * 1000)`.mapWith(Number);
}

/** Outcomes a verification is counted under: every code but INVALID, which names no key. */
export const RECORDED_OUTCOMES = VERIFY_CODES.filter((code) => code !== "INVALID");

export type OutcomeCounts = Record<string, number>;

export interface VerificationPoint {
  /** Start of the bucket, ISO 8601 UTC. */
  at: string;
  total: number;
  /** Every recorded outcome, zeros included. */
  outcomes: OutcomeCounts;
}

export interface VerificationSeries {
  /** Every bucket from the range's start (rounded down) up to its end, zeros included, oldest first. */
  points: VerificationPoint[];
  totals: { total: number; outcomes: OutcomeCounts };
}

export interface VerificationUsage extends VerificationSeries {
  granularity: Granularity;
  from: string;
  to: string;
}

type TopKey = { keyId: string; name: string | null; total: number; refused: number };
type TopIdentity = { identityId: string; externalId: string | null; total: number; refused: number };

export interface ApiVerificationUsage extends VerificationUsage {
  /** The keys verified most in the range, most first; `refused` counts every outcome but VALID. */
  topKeys: TopKey[];
  /** The keys refused most in the range (only keys refused at least once), most first. */
  topKeysByRefusals: TopKey[];
  /** The identities whose keys were verified most in the range, most first (`externalId` null once deleted). */
  topIdentities: TopIdentity[];
  /** The identities whose keys were refused most in the range, most first. */
  topIdentitiesByRefusals: TopIdentity[];
  /** Live keys of the API near their credit end now (see LOW_CREDITS), fewest remaining first. */
  keysNearCreditEnd: { keyId: string; name: string; identityId: string | null; remaining: number; refillAmount: number | null }[];
}



/** Sums over verification rows `v`: all of them, and every outcome but VALID. */
const verificationTotals = () => ({
  total: sql<number>`coalesce(sum(v.count), 0)`.mapWith(Number),
  refused: sql<number>`coalesce(sum(v.count) filter (where v.outcome <> 'VALID'), 0)`.mapWith(Number),
});

const zeroOutcomes = (): OutcomeCounts => Object.fromEntries(RECORDED_OUTCOMES.map((code) => [code, 0]));

/** How many keys the API's usage lists. */
const TOP_KEYS = 10;

export interface UsageServiceDeps {
  db: Database;
  clock: Clock;
  /** Visibility of a key's usage is the key's own (`keys.get`), of an API's or an identity's their own. */
  keys: Pick<KeyService, "get">;
  apis: Pick<ApiService, "get">;
  identities: Pick<IdentityService, "get">;
  /** Request-log rows older than this are deleted by the hourly cleanup. @default 14 */
  requestLogRetentionDays?: number;
}

/** The reads behind the usage API and the dashboard, and the request log's retention. */
export class UsageService {
  private cleanup?: ReturnType<typeof setInterval>;

  constructor(private readonly deps: UsageServiceDeps) {}

  /** Starts the hourly request-log cleanup (and runs it once now). */
  start(): void {
    this.cleanup ??= setInterval(() => void this.pruneExpired(), HOUR_MS);
    this.cleanup.unref();
    void this.pruneExpired();
  }

  stop(): void {
    clearInterval(this.cleanup);
    this.cleanup = undefined;
  }

  /** Deletes request-log rows older than `olderThan`, in batches; returns how many. */
  async pruneRequestLog(olderThan: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const doomed = this.deps.db.select({ id: requestLog.id }).from(requestLog).where(lt(requestLog.occurredAt, olderThan)).limit(10_000);
      const deleted = await this.deps.db.delete(requestLog).where(inArray(requestLog.id, doomed)).returning({ id: requestLog.id });
      total += deleted.length;
      if (deleted.length < 10_000) return total;
    }
  }

  /** A key's counts per bucket. Same visibility as the key; the range is validated per granularity. */
  async series(actor: Actor, keyId: string, rawInput: UsageSeriesInput = {}): Promise<UsageSeries> {
    const input = usageSeriesInput.parse(rawInput);
    const key = await this.deps.keys.get(actor, keyId);
    const { granularity } = input;
    const { from, to } = this.range(input, MAX_RANGE_DAYS[granularity], granularity);
    const step = BUCKET_MS[granularity];
    const start = Math.floor(from.getTime() / step) * step;

    const source = usageRows(new Date(start), to, sql`key_id = ${keyId}`, step);
    const rows = await this.deps.db
      .select({ t: bucketOf(granularity), ...summedCounts })
      .from(sql`${source} as u`)
      .groupBy(sql`1`)
      .orderBy(sql`1`);

    const byBucket = new Map(rows.map(({ t, ...counts }) => [t, counts]));
    const points: UsagePoint[] = [];
    const totals = zeroCounts();
    for (let t = start; t < to.getTime(); t += step) {
      const counts = byBucket.get(t) ?? zeroCounts();
      points.push({ t: new Date(t).toISOString(), ...counts });
      for (const field of Object.keys(totals) as (keyof UsageCounts)[]) totals[field] += counts[field];
    }
    const series: UsageSeries = { keyId, granularity, from: new Date(start).toISOString(), to: to.toISOString(), points, totals, lastUsedAt: key.lastUsedAt, lastUsedIp: key.lastUsedIp };
    if (key.kind === "issued") series.verifications = await this.verificationSeries(sql`key_id = ${keyId}`, granularity, start, to);
    return series;
  }

  /**
   * An API's verifications per bucket and by outcome; its top keys and identities by volume and by
   * refusals (one aggregate each over the roll-ups); and its keys near their credit end. Same
   * visibility as the API.
   */
  async apiUsage(actor: Actor, apiId: string, rawInput: UsageSeriesInput = {}): Promise<ApiVerificationUsage> {
    await this.deps.apis.get(actor, apiId);
    const where = sql`api_id = ${apiId}`;
    const usage = await this.verificationUsage(where, rawInput);
    const rows = () => sql`${verificationRows(new Date(usage.from), new Date(usage.to), where)} as v`;
    const [topKeys, topKeysByRefusals, topIdentities, topIdentitiesByRefusals, keysNearCreditEnd] = await Promise.all([
      this.topKeys(rows(), "total"),
      this.topKeys(rows(), "refused"),
      this.topIdentities(rows(), "total"),
      this.topIdentities(rows(), "refused"),
      this.keysNearCreditEnd(actor, apiId),
    ]);
    return { ...usage, topKeys, topKeysByRefusals, topIdentities, topIdentitiesByRefusals, keysNearCreditEnd };
  }

  /** The keys of verification rows `source` with the most verifications, or refusals (then only those refused at all). */
  private topKeys(source: SQL, by: "total" | "refused"): Promise<TopKey[]> {
    const { total, refused } = verificationTotals();
    return this.deps.db
      .select({ keyId: sql<string>`v.key_id`, name: apiKeys.name, total, refused })
      .from(source)
      .leftJoin(apiKeys, eq(apiKeys.id, sql`v.key_id`))
      .groupBy(sql`v.key_id`, apiKeys.name)
      .having(by === "refused" ? gt(refused, 0) : undefined)
      .orderBy(desc(by === "total" ? total : refused), sql`v.key_id`)
      .limit(TOP_KEYS);
  }

  /** The identities of verification rows `source` (keys without one left out) with the most verifications, or refusals. */
  private topIdentities(source: SQL, by: "total" | "refused"): Promise<TopIdentity[]> {
    const { total, refused } = verificationTotals();
    return this.deps.db
      .select({ identityId: sql<string>`v.identity_id`, externalId: identities.externalId, total, refused })
      .from(source)
      .leftJoin(identities, eq(identities.id, sql`v.identity_id`))
      .where(sql`v.identity_id <> ''`)
      .groupBy(sql`v.identity_id`, identities.externalId)
      .having(by === "refused" ? gt(refused, 0) : undefined)
      .orderBy(desc(by === "total" ? total : refused), sql`v.identity_id`)
      .limit(TOP_KEYS);
  }

  /** The API's live keys with credits whose balance now (a due refill counted) is low by LOW_CREDITS, fewest first. */
  private keysNearCreditEnd(actor: Actor, apiId: string): Promise<ApiVerificationUsage["keysNearCreditEnd"]> {
    const now = this.deps.clock.now();
    const remaining = balanceAt(now).mapWith(Number);
    const refillAmount = sql<number | null>`(${apiKeys.creditsRefill}->>'amount')::bigint`.mapWith(Number);
    return this.deps.db
      .select({ keyId: apiKeys.id, name: apiKeys.name, identityId: apiKeys.identityId, remaining, refillAmount })
      .from(apiKeys)
      .where(
        and(
          ...accessConditions(actor, { owner: apiKeys.ownerId, api: apiKeys.apiId }),
          eq(apiKeys.apiId, apiId),
          isNotNull(apiKeys.creditsRemaining),
          isNull(apiKeys.revokedAt),
          or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)),
          or(sql`${balanceAt(now)} <= ${LOW_CREDITS.absolute}::bigint`, sql`${balanceAt(now)} * 100 <= ${LOW_CREDITS.percent}::bigint * (${apiKeys.creditsRefill}->>'amount')::bigint`),
        ),
      )
      .orderBy(asc(balanceAt(now)), asc(apiKeys.id))
      .limit(TOP_KEYS);
  }

  /** The verifications of all of an identity's keys together. Same visibility as the identity. */
  async identityUsage(actor: Actor, identityId: string, rawInput: UsageSeriesInput = {}): Promise<VerificationUsage> {
    await this.deps.identities.get(actor, identityId);
    return this.verificationUsage(sql`identity_id = ${identityId}`, rawInput);
  }

  private async verificationUsage(where: SQL, rawInput: UsageSeriesInput): Promise<VerificationUsage> {
    const { granularity, ...input } = usageSeriesInput.parse(rawInput);
    const { from, to } = this.range(input, MAX_RANGE_DAYS[granularity], granularity);
    const step = BUCKET_MS[granularity];
    const start = Math.floor(from.getTime() / step) * step;
    const series = await this.verificationSeries(where, granularity, start, to);
    return { granularity, from: new Date(start).toISOString(), to: to.toISOString(), ...series };
  }

  /** Verifications matching `where` per bucket of `granularity` in [start, to), by outcome. */
  private async verificationSeries(where: SQL, granularity: Granularity, start: number, to: Date): Promise<VerificationSeries> {
    const step = BUCKET_MS[granularity];
    const rows = await this.deps.db
      .select({ t: bucketOf(granularity), outcome: sql<string>`v.outcome`, count: sql<number>`sum(v.count)`.mapWith(Number) })
      .from(sql`${verificationRows(new Date(start), to, where, step)} as v`)
      .groupBy(sql`1`, sql`2`);

    const byBucket = new Map<number, OutcomeCounts>();
    for (const { t, outcome, count } of rows) {
      const outcomes = byBucket.get(t) ?? zeroOutcomes();
      outcomes[outcome] = (outcomes[outcome] ?? 0) + count;
      byBucket.set(t, outcomes);
    }
    const points: VerificationPoint[] = [];
    const totals = { total: 0, outcomes: zeroOutcomes() };
    for (let t = start; t < to.getTime(); t += step) {
      const outcomes = byBucket.get(t) ?? zeroOutcomes();
      let total = 0;
      for (const [outcome, count] of Object.entries(outcomes)) {
        total += count;
        totals.outcomes[outcome] = (totals.outcomes[outcome] ?? 0) + count;
      }
      totals.total += total;
      points.push({ at: new Date(t).toISOString(), total, outcomes });
    }
    return { points, totals };
  }

  /** Admin: totals over every key and the busiest keys in the range. */
  async summary(actor: Actor, rawInput: UsageSummaryInput = {}): Promise<UsageSummary> {
    requireScope(actor, "admin");
    const input = usageSummaryInput.parse(rawInput);
    const { from, to } = this.range(input, MAX_RANGE_DAYS.day, null);
    const source = sql`${usageRows(from, to)} as u`;
    const [totals] = await this.deps.db
      .select({ ...summedCounts, activeKeys: sql<number>`count(distinct u.key_id)`.mapWith(Number) })
      .from(source);
    const top = await this.deps.db
      .select({ keyId: sql<string>`u.key_id`, name: apiKeys.name, ownerId: apiKeys.ownerId, ...summedCounts })
      .from(source)
      .leftJoin(apiKeys, eq(apiKeys.id, sql`u.key_id`))
      .groupBy(sql`u.key_id`, apiKeys.name, apiKeys.ownerId)
      .orderBy(desc(summedCounts.requests), sql`u.key_id`)
      .limit(input.top);
    const { activeKeys, ...counts } = totals!;
    return { from: from.toISOString(), to: to.toISOString(), totals: counts, activeKeys, topKeys: top };
  }

  /** A key's most recent requests, newest first, by cursor. Same visibility as the key. */
  async requests(actor: Actor, keyId: string, rawInput: RequestLogInput = {}): Promise<Page<RequestLogEntry>> {
    const input = requestLogInput.parse(rawInput);
    await this.deps.keys.get(actor, keyId);
    const rows = await requestLogPageQuery(this.deps.db, keyId, input.limit, input.cursor);
    const page = rows.slice(0, input.limit);
    return pageOf(
      page.map(({ keyId: _keyId, occurredAt, ...row }) => ({ ...row, occurredAt: occurredAt.toISOString() })),
      rows.length > input.limit ? encodeCursor(page.at(-1)!.occurredAt, page.at(-1)!.id) : null,
    );
  }

  private async pruneExpired(): Promise<void> {
    const days = this.deps.requestLogRetentionDays ?? 14;
    try {
      await this.pruneRequestLog(new Date(this.deps.clock.now().getTime() - days * DAY_MS));
    } catch (error) {
      logger.error({ err: error }, "Could not prune the request log");
    }
  }

  private range(input: { from?: string; to?: string }, maxDays: number, granularity: Granularity | null): { from: Date; to: Date } {
    const to = input.to ? new Date(input.to) : this.deps.clock.now();
    const from = input.from ? new Date(input.from) : new Date(to.getTime() - DAY_MS);
    if (from.getTime() >= to.getTime()) throw new KeywardError("validation_failed", "`from` must be before `to`", { field: "from" });
    if (to.getTime() - from.getTime() > maxDays * DAY_MS) {
      const hint = granularity === "minute" ? "; choose hour or day granularity" : granularity === "hour" ? "; choose day granularity" : "";
      throw new KeywardError("validation_failed", `The range is longer than ${maxDays} days${granularity ? ` at ${granularity} granularity` : ""}${hint}`, {
        field: "from",
        maxDays,
      });
    }
    return { from, to };
  }
}

/** The query behind one page of a key's request log, newest first (one row more than the page); exported so a test can check its plan. */
export function requestLogPageQuery(db: Database, keyId: string, limit: number, cursor: string | undefined) {
  const conditions = [eq(requestLog.keyId, keyId)];
  if (cursor) conditions.push(afterCursor(cursor, "number", requestLog.occurredAt, requestLog.id));
  return db
    .select()
    .from(requestLog)
    .where(and(...conditions))
    .orderBy(desc(requestLog.occurredAt), desc(requestLog.id))
    .limit(limit + 1);
}
