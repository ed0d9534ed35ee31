import { index, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

export const ACTOR_TYPES = ["user", "api_key", "system"] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

/** Append-only: written in the same transaction as the change it records; never updated. */
export const auditEvents = pgTable(
  "audit_events",
  {
    id: text("id").primaryKey(),
    occurredAt: timestamp("occurred_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    actorType: text("actor_type", { enum: ACTOR_TYPES }).notNull(),
    /** User id for users and for API keys (the key's owner); null for the system/CLI. */
    actorId: text("actor_id"),
    actorKeyId: text("actor_key_id"),
    action: text("action").notNull(),
    targetType: text("target_type").notNull(),
    targetId: text("target_id").notNull(),
    clientIp: text("client_ip"),
    userAgent: text("user_agent"),
    requestId: text("request_id"),
    /** Before/after of changed fields and similar; never a secret. */
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    index("audit_events_occurred_idx").on(t.occurredAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index("audit_events_target_idx").on(t.targetId, t.occurredAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index("audit_events_actor_idx").on(t.actorId, t.occurredAt.desc().nullsFirst()),
  ],
);
