import { inArray, sql, type SQL } from "drizzle-orm";
import type { Database } from "../../db/client.server";
import { apiKeys, apis, users, type RateLimit } from "../../db/schema";
import { newId } from "../lib/ids";
import { displayParts, generateKey } from "../lib/key-format";
import { unknownGrants } from "../lib/permissions";
import { ROLE_SCOPES, type Scope } from "../lib/scopes";
import { requireScope, type Actor } from "./actor.server";
import { recordAudit } from "./audit.server";
import type { Clock } from "./clock.server";
import { KeywardError } from "./errors.server";
import { candidateDigests, type DigestSecrets } from "./secrets.server";

/**
 * Load data at scale, for benchmarks and capacity tests: up to millions of real keys (same format,
 * same digest under the configured secret, so the verifier treats them like any other key) and a
 * usage history, written set-wise in batched transactions instead of one service call per key.
 * The plaintexts are dropped as soon as they are digested unless the caller asks for them back
 * (a load generator has to present them).
 */

/**
 * What one bulk key looks like; the service adds its id, plaintext, digest and display parts.
 * A root key has scopes; a key issued for an API (`apiId`) has its API's prefix, owner and
 * permissions from its vocabulary, and no scopes.
 */
export interface BulkKeySpec {
  ownerId: string;
  name: string;
  scopes: Scope[];
  apiId?: string;
  identityId?: string | null;
  permissions?: string[];
  rateLimit: RateLimit | null;
  createdAt: Date;
  expiresAt: Date | null;
  disabledAt: Date | null;
  revokedAt: Date | null;
}

export interface BulkKeyOptions {
  count: number;
  /** The i-th key's settings (0-based). */
  spec: (index: number) => BulkKeySpec;
  /** Which keys to hand back, by spec; none by default. */
  keep?: (spec: BulkKeySpec, index: number) => boolean;
  /** Hand back the kept keys' plaintext too. Without it no plaintext outlives its batch. */
  plaintext?: boolean;
  /** Keys per transaction. @default 4000 */
  batchSize?: number;
  /** Told the running total after each committed batch. */
  onProgress?: (done: number) => void;
}

export interface KeptKey {
  id: string;
  spec: BulkKeySpec;
  /** Only when `plaintext` was asked for. */
  key?: string;
}

export interface UsageSeedOptions {
  /** Keys with traffic in every minute. */
  hot: string[];
  /** Keys with traffic in one minute in ten. */
  warm: string[];
  /** Days of per-minute history, ending at the current minute. */
  days: number;
  /** Told the days written so far, after each day's transaction. */
  onProgress?: (days: number) => void;
}

export interface UsageSeedSummary {
  /** usage_minutes rows written. */
  minuteRows: number;
  /** Sum of their `requests`. */
  requests: number;
  /** request_log rows written (the hot keys' last day). */
  logRows: number;
  from: string;
  to: string;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Log rows per busy minute of a hot key, at most: enough to page through, not a second history. */
const LOG_ROWS_PER_MINUTE = 3;

/**
 * A CTE of the seeder's usage statement adding the `inserted` minutes into a roll-up table, per key
 * and UTC hour or day. A batch's bounds need not be whole hours or days: the next batch adds to the
 * bucket they share.
 */
function rollUpFromInserted(table: "usage_hours" | "usage_days", unit: "hour" | "day"): SQL {
  return sql.raw(`${unit}s as (
    insert into ${table} as r (key_id, ${unit}, requests, success, denied, rate_limited, errors)
    select key_id, date_trunc('${unit}', minute at time zone 'UTC') at time zone 'UTC', sum(requests), sum(success), sum(denied), sum(rate_limited), sum(errors)
    from inserted group by 1, 2
    on conflict (key_id, ${unit}) do update set
      requests = r.requests + excluded.requests, success = r.success + excluded.success, denied = r.denied + excluded.denied,
      rate_limited = r.rate_limited + excluded.rate_limited, errors = r.errors + excluded.errors
  )`);
}

function rowsOf<T>(result: unknown): T[] {
  // postgres.js returns the rows; PGlite returns { rows }.
  return Array.isArray(result) ? (result as T[]) : (result as { rows: T[] }).rows;
}

export class BulkSeedService {
  constructor(private readonly deps: { db: Database; clock: Clock; secrets: DigestSecrets }) {}

  /**
   * Inserts `count` keys in transactions of `batchSize`, each with one audit entry
   * (`key.bulk_created`, its count and id range). Admin only; as for a key made one by one, a root
   * key's scopes must be within its owner's role, and an issued key belongs to its API's owner and
   * holds only permissions of its API's vocabulary.
   */
  async insertKeys(actor: Actor, options: BulkKeyOptions): Promise<{ inserted: number; kept: KeptKey[] }> {
    requireScope(actor, "admin");
    const batchSize = options.batchSize ?? 4000;
    const roles = new Map<string, readonly Scope[]>();
    const apiRows = new Map<string, ApiFacts>();
    const kept: KeptKey[] = [];
    let inserted = 0;
    while (inserted < options.count) {
      const size = Math.min(batchSize, options.count - inserted);
      const specs = Array.from({ length: size }, (_, i) => options.spec(inserted + i));
      await this.loadOwnerScopes(specs, roles);
      await this.loadApis(specs, apiRows);
      const now = this.deps.clock.now();
      const rows = specs.map((spec, i) => {
        const api = spec.apiId === undefined ? undefined : apiRows.get(spec.apiId)!;
        if (api) assertIssuable(spec, api, inserted + i);
        else assertScopesAllowed(spec, roles.get(spec.ownerId)!, inserted + i);
        const id = newId("key");
        const key = generateKey(api?.prefix);
        const [{ digest, version }] = candidateDigests(key, this.deps.secrets) as [{ digest: string; version: number }];
        if (options.keep?.(spec, inserted + i)) kept.push(options.plaintext ? { id, spec, key } : { id, spec });
        return {
          id,
          owner_id: spec.ownerId,
          name: spec.name,
          ...displayParts(key),
          digest,
          digest_version: version,
          scopes: spec.scopes,
          api_id: spec.apiId ?? null,
          identity_id: spec.identityId ?? null,
          permissions: spec.permissions ?? [],
          rate_limit: spec.rateLimit,
          expires_at: spec.expiresAt,
          disabled_at: spec.disabledAt,
          revoked_at: spec.revokedAt,
          revoked_by: spec.revokedAt ? spec.ownerId : null,
          created_at: spec.createdAt,
          updated_at: spec.revokedAt ?? spec.disabledAt ?? spec.createdAt,
        };
      });
      await this.deps.db.transaction(async (tx) => {
        // One JSON parameter per batch: several times faster than a VALUES list of 16 parameters a row
        // (PGlite 4 000 rows: 0.45 s against 2.2 s), and no limit on parameters.
        await tx.execute(sql`
          insert into ${apiKeys} (id, owner_id, name, start, last4, digest, digest_version, scopes, api_id, identity_id, permissions, rate_limit, expires_at, disabled_at, revoked_at, revoked_by, created_at, updated_at)
          select id, owner_id, name, start, last4, digest, digest_version, scopes, api_id, identity_id, permissions, rate_limit, expires_at, disabled_at, revoked_at, revoked_by, created_at, updated_at
          from json_to_recordset(${JSON.stringify(rows)}::json) as r(
            id text, owner_id text, name text, start text, last4 text, digest text, digest_version integer, scopes text[], api_id text, identity_id text, permissions text[], rate_limit jsonb,
            expires_at timestamptz, disabled_at timestamptz, revoked_at timestamptz, revoked_by text, created_at timestamptz, updated_at timestamptz)`);
        await recordAudit(
          tx,
          actor,
          { action: "key.bulk_created", targetType: "api_key", targetId: rows[0]!.id, details: { count: rows.length, firstId: rows[0]!.id, lastId: rows.at(-1)!.id } },
          now,
        );
      });
      inserted += size;
      options.onProgress?.(inserted);
    }
    return { inserted, kept };
  }

  /**
   * Per-minute usage for `hot` and `warm` keys over the last `days` days, one transaction per day,
   * generated in SQL (generate_series); request-log rows for the hot keys' last day; and each key's
   * request count and last use brought in line with its history. Counts are random but consistent:
   * success + denied + rate-limited + errors = requests.
   */
  async seedUsage(actor: Actor, options: UsageSeedOptions): Promise<UsageSeedSummary> {
    requireScope(actor, "admin");
    if (!Number.isInteger(options.days) || options.days < 1) throw new KeywardError("validation_failed", "days must be a whole number ≥ 1", { field: "days" });
    const end = Math.floor(this.deps.clock.now().getTime() / MINUTE_MS) * MINUTE_MS;
    const start = end - options.days * DAY_MS;
    const hot = JSON.stringify(options.hot);
    const warm = JSON.stringify(options.warm);
    const summary: UsageSeedSummary = { minuteRows: 0, requests: 0, logRows: 0, from: new Date(start).toISOString(), to: new Date(end).toISOString() };

    for (let day = 0; day < options.days; day++) {
      const from = new Date(start + day * DAY_MS).toISOString();
      const to = new Date(start + (day + 1) * DAY_MS).toISOString();
      const written = await this.deps.db.transaction(async (tx) =>
        rowsOf<{ rows: string | number; requests: string | number | null }>(
          await tx.execute(sql`
            with grid as (
              select k.value as key_id, m.minute, true as hot
              from json_array_elements_text(${hot}::json) as k
              cross join generate_series(${from}::timestamptz, ${to}::timestamptz - interval '1 minute', interval '1 minute') as m(minute)
              union all
              -- One minute in ten, from an offset of each key's own.
              select k.value, m.minute, false
              from json_array_elements_text(${warm}::json) as k
              cross join lateral generate_series(${from}::timestamptz + abs(hashtext(k.value)) % 10 * interval '1 minute', ${to}::timestamptz - interval '1 minute', interval '10 minutes') as m(minute)
            ),
            weighted as (
              -- Working hours (08–20 UTC) are three times as busy.
              select *, case when extract(hour from minute at time zone 'UTC') between 8 and 19 then 3 else 1 end as weight from grid
            ),
            counted as (
              select key_id, minute, 1 + floor(random() * (case when hot then 40 else 8 end) * weight)::int as requests from weighted
            ),
            denied as (
              select key_id, minute, requests, floor(requests * random() * 0.04)::int as denied from counted
            ),
            limited as (
              select *, case when random() < 0.03 then floor((requests - denied) * 0.5)::int else 0 end as rate_limited from denied
            ),
            outcomes as (
              select *, case when random() < 0.002 and requests - denied - rate_limited > 0 then 1 else 0 end as errors from limited
            ),
            inserted as (
              insert into usage_minutes (key_id, minute, requests, success, denied, rate_limited, errors)
              select key_id, minute, requests, requests - denied - rate_limited - errors, denied, rate_limited, errors from outcomes
              on conflict do nothing
              returning key_id, minute, requests, success, denied, rate_limited, errors
            ),
            ${rollUpFromInserted("usage_hours", "hour")},
            ${rollUpFromInserted("usage_days", "day")}
            select count(*) as rows, sum(requests) as requests from inserted`),
        ),
      );
      summary.minuteRows += Number(written[0]?.rows ?? 0);
      summary.requests += Number(written[0]?.requests ?? 0);
      options.onProgress?.(day + 1);
    }

    await this.deps.db.transaction(async (tx) => {
      const logged = rowsOf<{ rows: string | number }>(
        await tx.execute(sql`
          with inserted as (
            insert into request_log (occurred_at, key_id, method, path, status, client_ip, duration_ms, user_agent, request_id)
            select u.minute + random() * interval '59 seconds', u.key_id, 'GET',
              case when n % 2 = 0 then '/api/v1/keys' else '/api/v1/me' end,
              case when n <= u.denied then 401 when n <= u.denied + u.rate_limited then 429 when n <= u.denied + u.rate_limited + u.errors then 500 else 200 end,
              '10.' || (n % 250) || '.' || floor(random() * 250)::int || '.' || (1 + floor(random() * 250)::int),
              1 + random() * 20, 'keyward-seed', 'seed-' || md5(random()::text)
            from usage_minutes u
            cross join lateral generate_series(1, least(u.requests, ${LOG_ROWS_PER_MINUTE})) as n
            where u.key_id in (select value from json_array_elements_text(${hot}::json))
              and u.minute >= ${new Date(end - DAY_MS).toISOString()}::timestamptz and u.minute < ${new Date(end).toISOString()}::timestamptz
            returning 1
          )
          select count(*) as rows from inserted`),
      );
      summary.logRows = Number(logged[0]?.rows ?? 0);
      await tx.execute(sql`
        update api_keys as k set
          request_count = k.request_count + s.requests,
          last_used_at = greatest(k.last_used_at, s.last_minute + interval '59 seconds'),
          last_used_ip = coalesce(k.last_used_ip, '10.0.0.1')
        from (
          select key_id, sum(requests) as requests, max(minute) as last_minute
          from usage_minutes
          where key_id in (select value from json_array_elements_text(${JSON.stringify([...options.hot, ...options.warm])}::json))
            and minute >= ${summary.from}::timestamptz and minute < ${summary.to}::timestamptz
          group by key_id
        ) as s
        where k.id = s.key_id`);
    });
    return summary;
  }

  /**
   * Refreshes the planner's statistics of the tables a bulk load filled. Autovacuum would get there
   * in its own time; until then the planner guesses from the old row counts (a search for a common
   * name took the trigram index over the newest-first walk: 2.8 s instead of 23 ms at a million keys).
   */
  async analyze(): Promise<void> {
    for (const table of ["api_keys", "key_counts", "usage_minutes", "usage_hours", "usage_days", "request_log"]) await this.deps.db.execute(sql.raw(`analyze ${table}`));
  }

  /** Fills `found` with the API of each spec that names one; an unknown API is refused. */
  private async loadApis(specs: BulkKeySpec[], found: Map<string, ApiFacts>): Promise<void> {
    const missing = [...new Set(specs.flatMap((spec) => (spec.apiId === undefined ? [] : [spec.apiId])))].filter((id) => !found.has(id));
    if (missing.length === 0) return;
    const rows = await this.deps.db.select({ id: apis.id, ownerId: apis.ownerId, prefix: apis.prefix, permissions: apis.permissions }).from(apis).where(inArray(apis.id, missing));
    for (const row of rows) found.set(row.id, row);
    const unknown = missing.find((id) => !found.has(id));
    if (unknown) throw new KeywardError("not_found", `API ${unknown} not found`);
  }

  /** Fills `roles` with the scopes each new owner's role allows; an unknown owner is refused. */
  private async loadOwnerScopes(specs: BulkKeySpec[], roles: Map<string, readonly Scope[]>): Promise<void> {
    const missing = [...new Set(specs.map((spec) => spec.ownerId))].filter((id) => !roles.has(id));
    if (missing.length === 0) return;
    const found = await this.deps.db.select({ id: users.id, role: users.role }).from(users).where(inArray(users.id, missing));
    for (const user of found) roles.set(user.id, ROLE_SCOPES[user.role]);
    const unknown = missing.find((id) => !roles.has(id));
    if (unknown) throw new KeywardError("not_found", `User ${unknown} not found`);
  }
}

interface ApiFacts {
  id: string;
  ownerId: string;
  prefix: string;
  permissions: string[];
}

function assertScopesAllowed(spec: BulkKeySpec, allowed: readonly Scope[], index: number): void {
  const excess = spec.scopes.filter((scope) => !allowed.includes(scope));
  if (excess.length > 0) {
    throw new KeywardError("insufficient_scope", `Key ${index}: its owner's role does not allow ${excess.join(", ")}`, { required: excess[0] });
  }
}

function assertIssuable(spec: BulkKeySpec, api: ApiFacts, index: number): void {
  if (spec.ownerId !== api.ownerId) throw new KeywardError("validation_failed", `Key ${index}: a key issued for ${api.id} belongs to its owner ${api.ownerId}`, { field: "ownerId" });
  if (spec.scopes.length > 0) throw new KeywardError("validation_failed", `Key ${index}: an issued key has permissions, not scopes`, { field: "scopes" });
  const unknown = unknownGrants(spec.permissions ?? [], api.permissions);
  if (unknown.length > 0) throw new KeywardError("validation_failed", `Key ${index}: ${unknown.join(", ")} not in the vocabulary of ${api.id}`, { field: "permissions" });
}
