import { index, integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/** The counters every usage table holds (fresh builders per table). */
const usageCounts = () => ({
  requests: integer("requests").notNull().default(0),
  /** Answered below 400. */
  success: integer("success").notNull().default(0),
  /** 401/403 caused by the key: expired, revoked, disabled, address not allowed, missing scope. */
  denied: integer("denied").notNull().default(0),
  /** 429 from the key's rate limit. */
  rateLimited: integer("rate_limited").notNull().default(0),
  /** 500 and above. */
  errors: integer("errors").notNull().default(0),
});

/**
 * Requests made with each key, counted per minute. Written by batched upserts (counts add up), so
 * several app instances may flush into the same row. No foreign key: a write of counters must never
 * fail or wait because of the key's row.
 */
export const usageMinutes = pgTable(
  "usage_minutes",
  {
    keyId: text("key_id").notNull(),
    /** Start of the minute (UTC). */
    minute: timestamp("minute", { withTimezone: true, mode: "date" }).notNull(),
    ...usageCounts(),
  },
  (t) => [
    primaryKey({ columns: [t.keyId, t.minute] }),
    // The admin summary reads a time range across all keys.
    index("usage_minutes_minute_idx").on(t.minute),
  ],
);

/**
 * The same counters per hour and per day (UTC), written by the same flush (and the seeder) in the same
 * transaction, so a month reads 30 rows per key, not 43 200. Reads take whole days, then whole hours,
 * then minutes at a range's edges (`usageRows` in app/services/usage.server.ts).
 */
export const usageHours = pgTable(
  "usage_hours",
  {
    keyId: text("key_id").notNull(),
    /** Start of the hour (UTC). */
    hour: timestamp("hour", { withTimezone: true, mode: "date" }).notNull(),
    ...usageCounts(),
  },
  (t) => [primaryKey({ columns: [t.keyId, t.hour] }), index("usage_hours_hour_idx").on(t.hour)],
);

export const usageDays = pgTable(
  "usage_days",
  {
    keyId: text("key_id").notNull(),
    /** Start of the day (UTC). */
    day: timestamp("day", { withTimezone: true, mode: "date" }).notNull(),
    ...usageCounts(),
  },
  (t) => [primaryKey({ columns: [t.keyId, t.day] }), index("usage_days_day_idx").on(t.day)],
);
