import { index, integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Verifications of issued keys, counted per outcome code (VALID, or the refusal's code) and per
 * minute, hour and day (UTC), written by the usage recorder's batched upserts like the request
 * counters. The key's API and identity ride along so an API's or an identity's analytics read
 * their own index instead of joining every key. No foreign keys: counting never waits on a key.
 */
const verificationColumns = () => ({
  keyId: text("key_id").notNull(),
  apiId: text("api_id").notNull(),
  /** Empty when the key has no identity (a primary key column cannot be null). */
  identityId: text("identity_id").notNull().default(""),
  outcome: text("outcome").notNull(),
  count: integer("count").notNull().default(0),
});

export const verificationMinutes = pgTable(
  "verification_minutes",
  { ...verificationColumns(), minute: timestamp("minute", { withTimezone: true, mode: "date" }).notNull() },
  (t) => [
    primaryKey({ columns: [t.keyId, t.minute, t.outcome] }),
    index("verification_minutes_api_idx").on(t.apiId, t.minute),
    index("verification_minutes_identity_idx").on(t.identityId, t.minute),
    index("verification_minutes_minute_idx").on(t.minute),
  ],
);

export const verificationHours = pgTable(
  "verification_hours",
  { ...verificationColumns(), hour: timestamp("hour", { withTimezone: true, mode: "date" }).notNull() },
  (t) => [
    primaryKey({ columns: [t.keyId, t.hour, t.outcome] }),
    index("verification_hours_api_idx").on(t.apiId, t.hour),
    index("verification_hours_identity_idx").on(t.identityId, t.hour),
  ],
);

export const verificationDays = pgTable(
  "verification_days",
  { ...verificationColumns(), day: timestamp("day", { withTimezone: true, mode: "date" }).notNull() },
  (t) => [
    primaryKey({ columns: [t.keyId, t.day, t.outcome] }),
    index("verification_days_api_idx").on(t.apiId, t.day),
    index("verification_days_identity_idx").on(t.identityId, t.day),
  ],
);
