import { index, integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

export const IDEMPOTENCY_STATES = ["in_flight", "done"] as const;
export type IdempotencyState = (typeof IDEMPOTENCY_STATES)[number];

/**
 * One row per (caller, Idempotency-Key): inserted `in_flight` before the work, in its own
 * statement, so a duplicate on any instance collides on the primary key; `done` once the first
 * result is stored. The body is AES-256-GCM ciphertext (it may hold a created key's plaintext).
 * Rows live 24 hours (docs/decisions/0023-idempotency-keys.md).
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    /** Who sent it: the user behind the root key or session (`user:<id>`). */
    caller: text("caller").notNull(),
    key: text("key").notNull(),
    /** SHA-256 (hex) of method, path and canonical body. */
    requestHash: text("request_hash").notNull(),
    state: text("state", { enum: IDEMPOTENCY_STATES }).notNull().default("in_flight"),
    responseStatus: integer("response_status"),
    /** The response body, encrypted and bound to (caller, key). */
    responseBody: text("response_body"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    /** When an in-flight row counts as abandoned (its instance crashed) and may be taken over. */
    lockedUntil: timestamp("locked_until", { withTimezone: true, mode: "date" }).notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.caller, t.key] }), index("idempotency_keys_expires_idx").on(t.expiresAt)],
);
