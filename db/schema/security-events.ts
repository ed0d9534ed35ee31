import { index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

export const SEVERITIES = ["info", "warning", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * Security-relevant happenings (refused credentials, keys in URLs, denied addresses…). High-volume
 * kinds are aggregated: one row per minute per (kind, key, client address), counted by an upsert.
 */
export const securityEvents = pgTable(
  "security_events",
  {
    id: text("id").primaryKey(),
    /** When it happened; for an aggregated row, the start of the minute it counts. */
    occurredAt: timestamp("occurred_at", { withTimezone: true, mode: "date" }).notNull(),
    kind: text("kind").notNull(),
    severity: text("severity", { enum: SEVERITIES }).notNull(),
    /** No foreign key: the log must never refuse or block a write because of the key's row. */
    keyId: text("key_id"),
    clientIp: text("client_ip"),
    count: integer("count").notNull().default(1),
    /** What a person needs to act on it; never a secret or a presented key. */
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
    firstSeen: timestamp("first_seen", { withTimezone: true, mode: "date" }).notNull(),
    lastSeen: timestamp("last_seen", { withTimezone: true, mode: "date" }).notNull(),
    /**
     * `kind|minute|key|address bucket (the IPv4 address, or the IPv6 /64)` for an aggregated row, the upsert's conflict target; null for a one-off
     * event (NULLs never conflict, so one-off rows are always inserted).
     */
    aggregateKey: text("aggregate_key").unique("security_events_aggregate_key_unique"),
  },
  (t) => [
    index("security_events_occurred_idx").on(t.occurredAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index("security_events_key_idx").on(t.keyId, t.occurredAt.desc().nullsFirst()),
    index("security_events_kind_idx").on(t.kind, t.occurredAt.desc().nullsFirst()),
  ],
);
