import { and, asc, desc, eq, gt, isNull, lt, lte, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../db/client.server";
import { apiKeys, keyCounts } from "../../db/schema";
import { actorUserId, requireScope, seesEveryone, type Actor } from "./actor.server";
import type { Clock } from "./clock.server";
import { summedCounts, usageRows, type UsageCounts, type UsagePoint } from "./usage.server";

export const OVERVIEW_RANGES = ["24h", "7d", "30d"] as const;
export type OverviewRange = (typeof OVERVIEW_RANGES)[number];
export const overviewInput = z.object({ range: z.enum(OVERVIEW_RANGES).default("24h") });
export type OverviewInput = z.input<typeof overviewInput>;

const HOUR_S = 3600;
/** Bucket size and count per range: 24 hourly, 28 six-hourly, 30 daily bars (the last one is the current, partial bucket). */
const BUCKETS: Record<OverviewRange, { seconds: number; count: number }> = {
  "24h": { seconds: HOUR_S, count: 24 },
  "7d": { seconds: 6 * HOUR_S, count: 28 },
  "30d": { seconds: 24 * HOUR_S, count: 30 },
};
const TOP_KEYS = 5;
const EXPIRING_WITHIN_DAYS = 7;
const EXPIRING_SHOWN = 5;

export interface Overview {
  range: OverviewRange;
  /** "all" for admins; "own" when only the actor's keys are counted. */
  scope: "all" | "own";
  from: string;
  to: string;
  bucketSeconds: number;
  /** Oldest first, zeros included. */
  series: UsagePoint[];
  totals: UsageCounts;
  keys: { active: number; total: number };
  topKeys: (UsageCounts & { keyId: string; name: string | null })[];
  expiringSoon: { id: string; name: string; ownerId: string; expiresAt: string }[];
  now: string;
}

const zero = (): UsageCounts => ({ requests: 0, success: 0, denied: 0, rateLimited: 0, errors: 0 });

/**
 * The dashboard's first page in one call: usage over a range, the busiest keys, key counts and keys
 * about to expire. Admins see every key; anyone else their own keys (usage is joined to the key's
 * owner through the primary keys of both tables).
 */
export class OverviewService {
  constructor(private readonly deps: { db: Database; clock: Clock }) {}

  async get(actor: Actor, rawInput: OverviewInput = {}): Promise<Overview> {
    requireScope(actor, "read");
    const { range } = overviewInput.parse(rawInput);
    const all = seesEveryone(actor);
    const ownerId = all ? null : actorUserId(actor)!;
    const now = this.deps.clock.now();
    const { seconds, count } = BUCKETS[range];
    const stepMs = seconds * 1000;
    const end = Math.floor(now.getTime() / stepMs) * stepMs + stepMs;
    const start = end - count * stepMs;
    const from = new Date(start);
    const to = new Date(end);

    const owned: SQL | undefined = ownerId ? eq(apiKeys.ownerId, ownerId) : undefined;
    // Bucket bounds are whole hours: the roll-up alone answers.
    const source = sql`${usageRows(from, to, ownerId ? sql`key_id in (select id from api_keys where owner_id = ${ownerId})` : undefined, stepMs)} as u`;
    const bucket = sql<number>`floor(extract(epoch from t) / ${sql.raw(String(seconds))}) * ${sql.raw(String(seconds * 1000))}`.mapWith(Number);

    const seriesQuery = this.deps.db.select({ t: bucket, ...summedCounts }).from(source);
    // Admins see usage of keys whose row is gone too (counters have no foreign key).
    const topQuery = this.deps.db
      .select({ keyId: sql<string>`u.key_id`, name: apiKeys.name, ...summedCounts })
      .from(source)
      .leftJoin(apiKeys, eq(apiKeys.id, sql`u.key_id`))
      .groupBy(sql`u.key_id`, apiKeys.name)
      .orderBy(desc(summedCounts.requests), sql`u.key_id`)
      .limit(TOP_KEYS);
    // Counts kept per owner and expiry day by triggers (key_counts): keys expiring after today are active
    // if live; today's are counted from the expiry index, a short range.
    const tomorrow = new Date(Math.floor(now.getTime() / 86_400_000) * 86_400_000 + 86_400_000);
    const countsQuery = this.deps.db
      .select({
        total: sql<number>`coalesce(sum(${keyCounts.total}), 0)`.mapWith(Number),
        liveLater: sql<number>`coalesce(sum(${keyCounts.live}) filter (where ${keyCounts.expiresOn} >= ${tomorrow.toISOString()}::timestamptz), 0)`.mapWith(Number),
      })
      .from(keyCounts)
      .where(ownerId ? eq(keyCounts.ownerId, ownerId) : undefined);
    const activeTodayQuery = this.deps.db
      .select({ active: sql<number>`count(*)`.mapWith(Number) })
      .from(apiKeys)
      .where(and(owned, gt(apiKeys.expiresAt, now), lt(apiKeys.expiresAt, tomorrow), isNull(apiKeys.revokedAt), isNull(apiKeys.disabledAt)));
    const expiringQuery = this.deps.db
      .select({ id: apiKeys.id, name: apiKeys.name, ownerId: apiKeys.ownerId, expiresAt: apiKeys.expiresAt })
      .from(apiKeys)
      .where(and(owned, isNull(apiKeys.revokedAt), gt(apiKeys.expiresAt, now), lte(apiKeys.expiresAt, new Date(now.getTime() + EXPIRING_WITHIN_DAYS * 86_400_000))))
      .orderBy(asc(apiKeys.expiresAt), asc(apiKeys.id))
      .limit(EXPIRING_SHOWN);

    const [rows, top, [counts], [activeToday], expiring] = await Promise.all([seriesQuery.groupBy(sql`1`), topQuery, countsQuery, activeTodayQuery, expiringQuery]);

    const byBucket = new Map(rows.map(({ t, ...bucketCounts }) => [t, bucketCounts]));
    const totals = zero();
    const series: UsagePoint[] = [];
    for (let t = start; t < end; t += stepMs) {
      const point = byBucket.get(t) ?? zero();
      series.push({ t: new Date(t).toISOString(), ...point });
      for (const field of Object.keys(totals) as (keyof UsageCounts)[]) totals[field] += point[field];
    }
    return {
      range,
      scope: all ? "all" : "own",
      from: from.toISOString(),
      to: to.toISOString(),
      bucketSeconds: seconds,
      series,
      totals,
      keys: { active: (counts?.liveLater ?? 0) + (activeToday?.active ?? 0), total: counts?.total ?? 0 },
      topKeys: top,
      expiringSoon: expiring.map((key) => ({ ...key, expiresAt: key.expiresAt!.toISOString() })),
      now: now.toISOString(),
    };
  }
}
