import { sql } from "drizzle-orm";
import { boolean, index, integer, jsonb, pgTable, real, serial, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { SEVERITIES } from "./security-events";

export const ALERT_GROUPINGS = ["ip", "key"] as const;
export type AlertGrouping = (typeof ALERT_GROUPINGS)[number];

/** `events`: the sum of event counts in the window; `minutes`: how many distinct minutes of the window had one. */
export const ALERT_MEASURES = ["events", "minutes"] as const;
export type AlertMeasure = (typeof ALERT_MEASURES)[number];

export const ALERT_STATUSES = ["open", "acknowledged", "resolved"] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/**
 * When security events become an alert: over the last `windowSeconds`, events of `kinds` for one
 * subject (a client address or a key) reach `threshold`. The defaults are upserted at start; admins tune them.
 */
export const alertRules = pgTable("alert_rules", {
  /** A stable slug (`auth_failure_burst`), so defaults can be upserted without duplicating. */
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  description: text("description").notNull().default(""),
  enabled: boolean("enabled").notNull().default(true),
  kinds: text("kinds").array().notNull(),
  threshold: integer("threshold").notNull(),
  windowSeconds: integer("window_seconds").notNull(),
  groupBy: text("group_by", { enum: ALERT_GROUPINGS }).notNull(),
  measure: text("measure", { enum: ALERT_MEASURES }).notNull().default("events"),
  severity: text("severity", { enum: SEVERITIES }).notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  updatedBy: text("updated_by"),
});

/** A rule that fired for a subject. At most one not-resolved alert per (rule, subject): firing again bumps it. */
export const alerts = pgTable(
  "alerts",
  {
    id: text("id").primaryKey(),
    ruleId: text("rule_id")
      .notNull()
      .references(() => alertRules.id),
    /** The client address or key id the rule grouped by. */
    subject: text("subject").notNull(),
    subjectType: text("subject_type", { enum: ALERT_GROUPINGS }).notNull(),
    severity: text("severity", { enum: SEVERITIES }).notNull(),
    status: text("status", { enum: ALERT_STATUSES }).notNull().default("open"),
    /** The key the alert is about, when known (for members' visibility), whatever the grouping. */
    keyId: text("key_id"),
    firstFiredAt: timestamp("first_fired_at", { withTimezone: true, mode: "date" }).notNull(),
    lastFiredAt: timestamp("last_fired_at", { withTimezone: true, mode: "date" }).notNull(),
    /** How many times the rule fired into this alert. */
    count: integer("count").notNull().default(1),
    /** What the rule saw the last time it fired (`{ observed, threshold, windowSeconds, kinds }`); never a secret. */
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
    ackedBy: text("acked_by"),
    ackedAt: timestamp("acked_at", { withTimezone: true, mode: "date" }),
    resolvedBy: text("resolved_by"),
    resolvedAt: timestamp("resolved_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    // The upsert's conflict target: several instances firing together bump one alert.
    uniqueIndex("alerts_open_unique").on(t.ruleId, t.subject).where(sql`${t.status} <> 'resolved'`),
    // Lists page by first firing (it never changes, unlike the last), newest first.
    index("alerts_first_fired_idx").on(t.firstFiredAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index("alerts_status_idx").on(t.status, t.firstFiredAt.desc().nullsFirst()),
  ],
);

/** Every attempt to POST an alert to the webhook, successful or not. */
export const alertDeliveries = pgTable(
  "alert_deliveries",
  {
    id: serial("id").primaryKey(),
    alertId: text("alert_id")
      .notNull()
      .references(() => alerts.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    /** The receiver's HTTP status; null when no response came (then `error` says why). */
    statusCode: integer("status_code"),
    error: text("error"),
    at: timestamp("at", { withTimezone: true, mode: "date" }).notNull(),
    durationMs: real("duration_ms").notNull(),
  },
  (t) => [index("alert_deliveries_alert_idx").on(t.alertId, t.attempt)],
);
