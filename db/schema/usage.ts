import { index, integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

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
    requests: integer("requests").notNull().default(0),
    /** Answered below 400. */
    success: integer("success").notNull().default(0),
    /** 401/403 caused by the key: expired, revoked, disabled, address not allowed, missing scope. */
    denied: integer("denied").notNull().default(0),
    /** 429 from the key's rate limit. */
    rateLimited: integer("rate_limited").notNull().default(0),
    /** 500 and above. */
    errors: integer("errors").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.keyId, t.minute] }),
    // The admin summary reads a time range across all keys.
    index("usage_minutes_minute_idx").on(t.minute),
  ],
);
