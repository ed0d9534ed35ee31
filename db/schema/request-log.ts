import { bigint, index, integer, pgTable, real, text, timestamp } from "drizzle-orm/pg-core";

/**
 * One row per API request made with an identified key, written in batches. Kept for the retention
 * period (KEYWARD_REQUEST_LOG_RETENTION_DAYS), then deleted by the periodic cleanup. No foreign key,
 * like the counters: logging never fails because of the key's row.
 */
export const requestLog = pgTable(
  "request_log",
  {
    /** Increases with insertion; the tiebreaker of the newest-first order. */
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    occurredAt: timestamp("occurred_at", { withTimezone: true, mode: "date" }).notNull(),
    keyId: text("key_id").notNull(),
    method: text("method").notNull(),
    /** Path only: never the query string, which may carry anything. */
    path: text("path").notNull(),
    status: integer("status").notNull(),
    clientIp: text("client_ip"),
    durationMs: real("duration_ms").notNull(),
    userAgent: text("user_agent"),
    requestId: text("request_id"),
    /** For a verification of an issued key: its API and identity, the outcome code, the caller's tags and the root key that asked. */
    apiId: text("api_id"),
    identityId: text("identity_id"),
    outcome: text("outcome"),
    tags: text("tags").array(),
    rootKeyId: text("root_key_id"),
  },
  (t) => [
    // A key's recent requests, newest first, by keyset pagination.
    index("request_log_key_occurred_idx").on(t.keyId, t.occurredAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    // Retention: delete everything older than the cut-off.
    index("request_log_occurred_idx").on(t.occurredAt),
  ],
);
