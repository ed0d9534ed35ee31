import { and, count, desc, eq, gt, gte, inArray, lt, ne, sql, type SQL } from "drizzle-orm";
import { z, type ZodType } from "zod";
import type { Database } from "../../db/client.server";
import {
  ALERT_GROUPINGS,
  ALERT_MEASURES,
  ALERT_STATUSES,
  alertDeliveries,
  alertRules,
  alerts,
  apiKeys,
  securityEvents,
  SEVERITIES,
  type AlertGrouping,
  type AlertMeasure,
  type AlertStatus,
  type Severity,
} from "../../db/schema";
import { afterCursor, encodeCursor, pageOf, type Page } from "../lib/cursor";
import { boundedInstant } from "../lib/dates";
import { newId } from "../lib/ids";
import { addressBucket } from "../lib/ip";
import { keyIdSchema } from "../lib/key-schemas";
import { actorUserId, requireScope, seesEveryone, type Actor } from "./actor.server";
import { recordAudit } from "./audit.server";
import type { Clock } from "./clock.server";
import { KeywardError, notFound } from "./errors.server";
import type { EventBus } from "./events.server";
import { SECURITY_EVENT_KINDS, type SecurityEventKind, type TouchedGroup } from "./security-events.server";
import type { WebhookDispatcher } from "./webhooks.server";

// Inputs (shared by tRPC and the REST routes) ------------------------------------------------

const pageLimit = z.number().int().min(1).max(200).default(50);
const cursor = z.string().max(200).optional();

export const alertIdSchema = z.string().regex(/^alr_[0-9A-Za-z]{20}$/, "Not an alert id (alr_…)");
export const alertRuleIdSchema = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, "Not an alert rule id");

export const securityEventsInput = z.object({
  limit: pageLimit,
  cursor,
  kind: z.enum(SECURITY_EVENT_KINDS).optional(),
  keyId: keyIdSchema.optional(),
  severity: z.enum(SEVERITIES).optional(),
  /** Inclusive. */
  from: boundedInstant().optional(),
  /** Exclusive. */
  to: boundedInstant().optional(),
});
export type SecurityEventsInput = z.input<typeof securityEventsInput>;

export const ALERT_STATUS_FILTERS = [...ALERT_STATUSES, "unresolved"] as const;

export const alertListInput = z.object({
  /** `unresolved` = open or acknowledged. */
  status: z.enum(ALERT_STATUS_FILTERS).optional(),
  limit: pageLimit,
  cursor,
});
export type AlertListInput = z.input<typeof alertListInput>;

export const updateAlertRuleInput = z
  .object({
    enabled: z.boolean().optional(),
    kinds: z.array(z.enum(SECURITY_EVENT_KINDS)).min(1).max(SECURITY_EVENT_KINDS.length).optional(),
    threshold: z.number().int().min(1).max(1_000_000).optional(),
    windowSeconds: z.number().int().min(60).max(7 * 86_400).optional(),
    groupBy: z.enum(ALERT_GROUPINGS).optional(),
    measure: z.enum(ALERT_MEASURES).optional(),
    severity: z.enum(SEVERITIES).optional(),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, "Give at least one field to change");
export type UpdateAlertRuleInput = z.input<typeof updateAlertRuleInput>;

// Views ---------------------------------------------------------------------------------------

/** Timestamps are ISO 8601 UTC. */
export interface SecurityEventView {
  id: string;
  occurredAt: string;
  kind: string;
  severity: Severity;
  keyId: string | null;
  clientIp: string | null;
  count: number;
  details: Record<string, unknown>;
  firstSeen: string;
  lastSeen: string;
}

export interface AlertView {
  id: string;
  ruleId: string;
  ruleName: string;
  subject: string;
  subjectType: AlertGrouping;
  severity: Severity;
  status: AlertStatus;
  keyId: string | null;
  firstFiredAt: string;
  lastFiredAt: string;
  count: number;
  details: Record<string, unknown>;
  ackedBy: string | null;
  ackedAt: string | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
}

export interface AlertRuleView {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  kinds: SecurityEventKind[];
  threshold: number;
  windowSeconds: number;
  groupBy: AlertGrouping;
  measure: AlertMeasure;
  severity: Severity;
  updatedAt: string;
  updatedBy: string | null;
}

export interface AlertDeliveryView {
  attempt: number;
  statusCode: number | null;
  error: string | null;
  at: string;
  durationMs: number;
}

/** What the webhook receives for a newly opened alert. */
export interface AlertWebhookPayload {
  type: "alert.opened";
  alert: AlertView;
}

// Default rules ---------------------------------------------------------------------------------

type RuleDefinition = Omit<typeof alertRules.$inferInsert, "updatedAt" | "updatedBy"> & { kinds: SecurityEventKind[] };

/** Upserted at start (existing rows, tuned by admins, are left alone). */
export const DEFAULT_ALERT_RULES: RuleDefinition[] = [
  {
    id: "auth_failure_burst",
    name: "Burst of authentication failures from one address",
    description: "Refused keys and failed dashboard sign-ins from one client address: someone guessing, or a misconfigured client.",
    kinds: ["invalid_key", "key_revoked", "key_disabled", "key_expired", "login_failed"],
    threshold: 20,
    windowSeconds: 300,
    groupBy: "ip",
    measure: "events",
    severity: "warning",
  },
  {
    id: "revoked_key_used",
    name: "Revoked key used",
    description: "Any use of a revoked key: it may have leaked, or a client was never updated.",
    kinds: ["key_revoked"],
    threshold: 1,
    windowSeconds: 300,
    groupBy: "key",
    measure: "events",
    severity: "critical",
  },
  {
    id: "ip_allowlist_denials",
    name: "Repeated IP-allowlist denials for one key",
    description: "A key keeps being presented from addresses its allowlist refuses.",
    kinds: ["ip_not_allowed"],
    threshold: 10,
    windowSeconds: 600,
    groupBy: "key",
    measure: "events",
    severity: "warning",
  },
  {
    id: "key_rate_limited_continuously",
    name: "Key rate-limited continuously",
    description: "A key hit its rate limit in each of the last 5 minutes (the threshold counts minutes, not requests).",
    kinds: ["rate_limited"],
    threshold: 5,
    windowSeconds: 300,
    groupBy: "key",
    measure: "minutes",
    severity: "warning",
  },
  {
    id: "recoverable_key_revealed",
    name: "Recoverable key revealed",
    description: "An admin revealed the plaintext of a recoverable key.",
    kinds: ["key_revealed"],
    threshold: 1,
    windowSeconds: 300,
    groupBy: "key",
    measure: "events",
    severity: "warning",
  },
  {
    id: "admin_login_new_ip",
    name: "Admin sign-in from a new address",
    description: "An admin signed in from an address none of their earlier sign-ins came from.",
    kinds: ["admin_login_new_ip"],
    threshold: 1,
    windowSeconds: 300,
    groupBy: "ip",
    measure: "events",
    severity: "warning",
  },
];

// Service ---------------------------------------------------------------------------------------

export interface SecurityServiceDeps {
  db: Database;
  clock: Clock;
  events?: Pick<EventBus, "publish">;
  /** Set when KEYWARD_ALERT_WEBHOOK_URL is: newly opened alerts are POSTed there. */
  webhooks?: Pick<WebhookDispatcher, "deliver">;
}

const MINUTE_MS = 60_000;
const iso = (date: Date | null) => (date ? date.toISOString() : null);

const eventColumns = {
  id: securityEvents.id,
  occurredAt: securityEvents.occurredAt,
  kind: securityEvents.kind,
  severity: securityEvents.severity,
  keyId: securityEvents.keyId,
  clientIp: securityEvents.clientIp,
  count: securityEvents.count,
  details: securityEvents.details,
  firstSeen: securityEvents.firstSeen,
  lastSeen: securityEvents.lastSeen,
};

const alertColumns = {
  id: alerts.id,
  ruleId: alerts.ruleId,
  ruleName: alertRules.name,
  subject: alerts.subject,
  subjectType: alerts.subjectType,
  severity: alerts.severity,
  status: alerts.status,
  keyId: alerts.keyId,
  firstFiredAt: alerts.firstFiredAt,
  lastFiredAt: alerts.lastFiredAt,
  count: alerts.count,
  details: alerts.details,
  ackedBy: alerts.ackedBy,
  ackedAt: alerts.ackedAt,
  resolvedBy: alerts.resolvedBy,
  resolvedAt: alerts.resolvedAt,
};

type AlertRow = {
  [K in keyof typeof alertColumns]: K extends "ruleName" ? string : (typeof alerts.$inferSelect)[Exclude<K, "ruleName">];
};
type RuleRow = typeof alertRules.$inferSelect;

function alertView(row: AlertRow): AlertView {
  return {
    ...row,
    firstFiredAt: row.firstFiredAt.toISOString(),
    lastFiredAt: row.lastFiredAt.toISOString(),
    ackedAt: iso(row.ackedAt),
    resolvedAt: iso(row.resolvedAt),
  };
}

function ruleView(row: RuleRow): AlertRuleView {
  return { ...row, kinds: row.kinds as SecurityEventKind[], updatedAt: row.updatedAt.toISOString() };
}

/** Inside the service, a malformed input is the caller's mistake (validation_failed), whichever door it came through. */
function parse<S extends ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new KeywardError("validation_failed", issue.message, { field: issue.path.map(String).join(".") || "input" });
  }
  return parsed.data;
}

/** Who did it, for acked_by / resolved_by / updated_by: the user's id, or `system:<label>` for the CLI. */
const actorName = (actor: Actor) => actorUserId(actor) ?? `system:${actor.kind === "system" ? actor.label : "unknown"}`;

/**
 * Security events, the alert rules evaluated over them, and the alerts they open. Evaluation runs
 * after each batch of events is written (off the request path) and reads the database, so every
 * instance sharing it counts together; opening an alert is an upsert on a partial unique index,
 * so two instances firing at once bump one alert instead of opening two.
 */
export class SecurityService {
  constructor(private readonly deps: SecurityServiceDeps) {}

  /** Inserts the default rules that are missing; never overwrites a tuned one. */
  async ensureDefaultRules(): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.db
      .insert(alertRules)
      .values(DEFAULT_ALERT_RULES.map((rule) => ({ ...rule, updatedAt: now })))
      .onConflictDoNothing({ target: alertRules.id });
  }

  /** The SecurityEventService's hook: evaluates every enabled rule for the (kind, key|ip) groups a written batch touched. */
  async evaluate(touched: TouchedGroup[]): Promise<void> {
    if (touched.length === 0) return;
    const now = this.deps.clock.now();
    const rules = await this.deps.db.select().from(alertRules).where(eq(alertRules.enabled, true));
    for (const rule of rules) {
      const subjects = new Set<string>();
      for (const group of touched) {
        const subject = rule.groupBy === "ip" ? group.clientIp && addressBucket(group.clientIp) : group.keyId;
        if (subject && rule.kinds.includes(group.kind)) subjects.add(subject);
      }
      if (subjects.size === 0) continue;
      for (const { subject, observed } of await this.observe(rule, [...subjects], now)) {
        if (observed >= rule.threshold) await this.fire(rule, subject, observed, now);
      }
    }
  }

  /**
   * The rule's measure per subject over its window, at minute resolution: `events` sums the counts
   * of rows seen in the window; `minutes` counts the distinct minutes of the window that had one.
   * An address subject is an address bucket: an IPv6 row's /64, else its address.
   */
  private async observe(rule: RuleRow, subjects: string[], now: Date): Promise<{ subject: string; observed: number }[]> {
    const column: SQL<string | null> =
      rule.groupBy === "ip" ? sql`coalesce(${securityEvents.details}->>'clientNetwork', ${securityEvents.clientIp})` : sql`${securityEvents.keyId}`;
    const windowMs = rule.windowSeconds * 1000;
    const windowStart = new Date(now.getTime() - windowMs);
    const inWindow =
      rule.measure === "minutes"
        ? gt(securityEvents.occurredAt, new Date(Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS - windowMs))
        : // occurred_at bounds the scan (an aggregated row starts at most a minute before its last event).
          and(gt(securityEvents.occurredAt, new Date(windowStart.getTime() - MINUTE_MS)), gt(securityEvents.lastSeen, windowStart));
    const measure =
      rule.measure === "minutes"
        ? sql<number>`count(distinct ${securityEvents.occurredAt}) filter (where ${securityEvents.aggregateKey} is not null)`
        : sql<number>`coalesce(sum(${securityEvents.count}), 0)`;
    const rows = await this.deps.db
      .select({ subject: column, observed: measure.mapWith(Number) })
      .from(securityEvents)
      .where(and(inArray(securityEvents.kind, rule.kinds), inArray(column, subjects), inWindow))
      .groupBy(column);
    return rows.flatMap((row) => (row.subject ? [{ subject: row.subject, observed: row.observed }] : []));
  }

  /** Opens an alert for (rule, subject), or bumps the one not yet resolved; only the opener delivers the webhook. */
  private async fire(rule: RuleRow, subject: string, observed: number, now: Date): Promise<void> {
    const id = newId("alr");
    const details = { observed, threshold: rule.threshold, windowSeconds: rule.windowSeconds, measure: rule.measure, kinds: rule.kinds };
    const [row] = await this.deps.db
      .insert(alerts)
      .values({
        id,
        ruleId: rule.id,
        subject,
        subjectType: rule.groupBy,
        severity: rule.severity,
        status: "open",
        keyId: rule.groupBy === "key" ? subject : null,
        firstFiredAt: now,
        lastFiredAt: now,
        count: 1,
        details,
      })
      .onConflictDoUpdate({
        target: [alerts.ruleId, alerts.subject],
        targetWhere: sql`status <> 'resolved'`,
        set: {
          count: sql`${alerts.count} + 1`,
          lastFiredAt: sql`greatest(${alerts.lastFiredAt}, excluded.last_fired_at)`,
          severity: sql`excluded.severity`,
          details: sql`excluded.details`,
        },
      })
      .returning({ id: alerts.id });
    const alertId = row!.id;
    await this.publish(alertId);
    if (alertId === id && this.deps.webhooks) {
      const [opened] = await this.selectAlerts(eq(alerts.id, id));
      if (opened) this.deps.webhooks.deliver(id, { type: "alert.opened", alert: opened } satisfies AlertWebhookPayload);
    }
  }

  // Reads -----------------------------------------------------------------------------------------

  /** Newest first. Admins see every event; others only events about their own keys. */
  async listEvents(actor: Actor, rawInput: SecurityEventsInput = {}): Promise<Page<SecurityEventView>> {
    const input = parse(securityEventsInput, rawInput);
    const rows = await securityEventsPageQuery(this.deps.db, actor, input);
    const page = rows.slice(0, input.limit);
    const last = page[page.length - 1];
    return pageOf(
      page.map((row) => ({ ...row, occurredAt: row.occurredAt.toISOString(), firstSeen: row.firstSeen.toISOString(), lastSeen: row.lastSeen.toISOString() })),
      rows.length > input.limit && last ? encodeCursor(last.occurredAt, last.id) : null,
    );
  }

  /** Newest first (by first firing). Admins see every alert; others only alerts about their own keys. */
  async listAlerts(actor: Actor, rawInput: AlertListInput = {}): Promise<Page<AlertView>> {
    const input = parse(alertListInput, rawInput);
    const conditions: (SQL | undefined)[] = [];
    if (input.status === "unresolved") conditions.push(ne(alerts.status, "resolved"));
    else if (input.status) conditions.push(eq(alerts.status, input.status));
    if (input.cursor) conditions.push(afterCursor(input.cursor, "string", alerts.firstFiredAt, alerts.id));
    const rows = await this.selectAlerts(and(...conditions), actor, input.limit + 1);
    const page = rows.slice(0, input.limit);
    const last = page[page.length - 1];
    return pageOf(page, rows.length > input.limit && last ? encodeCursor(new Date(last.firstFiredAt), last.id) : null);
  }

  /** Alerts not yet acknowledged nor resolved, that the actor may see (the dashboard's badge). */
  async openAlertCount(actor: Actor): Promise<number> {
    const [row] = await this.deps.db
      .select({ open: count() })
      .from(alerts)
      .where(and(eq(alerts.status, "open"), ownKeysOnly(this.deps.db, actor, alerts.keyId)));
    return row?.open ?? 0;
  }

  /** One alert the actor may see; anything else is "not found". */
  async getAlert(actor: Actor, id: string): Promise<AlertView> {
    const alertId = alertIdSchema.safeParse(id);
    const [row] = alertId.success ? await this.selectAlerts(eq(alerts.id, alertId.data), actor) : [];
    if (!row) throw notFound("Alert");
    return row;
  }

  /** Every webhook attempt for the alert, in order. Admins only. */
  async deliveries(actor: Actor, alertId: string): Promise<AlertDeliveryView[]> {
    requireScope(actor, "admin");
    await this.getAlert(actor, alertId);
    const rows = await this.deps.db
      .select({ attempt: alertDeliveries.attempt, statusCode: alertDeliveries.statusCode, error: alertDeliveries.error, at: alertDeliveries.at, durationMs: alertDeliveries.durationMs })
      .from(alertDeliveries)
      .where(eq(alertDeliveries.alertId, alertId))
      .orderBy(alertDeliveries.at, alertDeliveries.attempt, alertDeliveries.id);
    return rows.map((row) => ({ ...row, at: row.at.toISOString() }));
  }

  async listRules(actor: Actor): Promise<AlertRuleView[]> {
    requireScope(actor, "admin");
    const rows = await this.deps.db.select().from(alertRules).orderBy(alertRules.id);
    return rows.map(ruleView);
  }

  // Changes (admins; each writes its audit entry in the same transaction) ---------------------

  /** Open → acknowledged. Acknowledging an acknowledged alert changes nothing; a resolved one cannot be. */
  async ack(actor: Actor, id: string): Promise<AlertView> {
    requireScope(actor, "admin");
    return this.transition(actor, id, "alert.acknowledged", (status, now) => {
      if (status === "resolved") throw new KeywardError("invalid_state", "A resolved alert cannot be acknowledged");
      return status === "open" ? { status: "acknowledged", ackedBy: actorName(actor), ackedAt: now } : null;
    });
  }

  /** Open or acknowledged → resolved (final: the rule firing again opens a new alert). Idempotent. */
  async resolve(actor: Actor, id: string): Promise<AlertView> {
    requireScope(actor, "admin");
    return this.transition(actor, id, "alert.resolved", (status, now) =>
      status === "resolved" ? null : { status: "resolved", resolvedBy: actorName(actor), resolvedAt: now },
    );
  }

  async updateRule(actor: Actor, id: string, rawPatch: UpdateAlertRuleInput): Promise<AlertRuleView> {
    requireScope(actor, "admin");
    const patch = parse(updateAlertRuleInput, rawPatch);
    const now = this.deps.clock.now();
    const updated = await this.deps.db.transaction(async (tx) => {
      const [current] = await tx.select().from(alertRules).where(eq(alertRules.id, id)).for("update");
      if (!current) throw notFound("Alert rule");
      const next = { ...current, ...patch };
      if (next.measure === "minutes" && next.threshold > next.windowSeconds / 60) {
        throw new KeywardError("validation_failed", "A rule counting minutes needs a threshold of at most its window in minutes", { field: "threshold" });
      }
      const before: Record<string, unknown> = {};
      const after: Record<string, unknown> = {};
      for (const field of Object.keys(patch) as (keyof typeof patch)[]) {
        if (JSON.stringify(current[field]) === JSON.stringify(next[field])) continue;
        before[field] = current[field];
        after[field] = next[field];
      }
      if (Object.keys(after).length === 0) return current;
      const [row] = await tx
        .update(alertRules)
        .set({ ...patch, updatedAt: now, updatedBy: actorName(actor) })
        .where(eq(alertRules.id, id))
        .returning();
      await recordAudit(tx, actor, { action: "settings.alert_rule_updated", targetType: "settings", targetId: id, details: { before, after } }, now);
      return row!;
    });
    return ruleView(updated);
  }

  // Helpers -------------------------------------------------------------------------------------

  private async transition(
    actor: Actor,
    id: string,
    action: "alert.acknowledged" | "alert.resolved",
    decide: (status: AlertStatus, now: Date) => Partial<typeof alerts.$inferInsert> | null,
  ): Promise<AlertView> {
    const alertId = alertIdSchema.safeParse(id);
    if (!alertId.success) throw notFound("Alert");
    const now = this.deps.clock.now();
    const changed = await this.deps.db.transaction(async (tx) => {
      const [current] = await tx
        .select({ status: alerts.status, ruleId: alerts.ruleId, subject: alerts.subject })
        .from(alerts)
        .where(eq(alerts.id, alertId.data))
        .for("update");
      if (!current) throw notFound("Alert");
      const values = decide(current.status, now);
      if (!values) return false;
      await tx.update(alerts).set(values).where(eq(alerts.id, alertId.data));
      await recordAudit(
        tx,
        actor,
        { action, targetType: "alert", targetId: alertId.data, details: { ruleId: current.ruleId, subject: current.subject, before: { status: current.status }, after: { status: values.status } } },
        now,
      );
      return true;
    });
    if (changed) await this.publish(alertId.data);
    return this.getAlert(actor, alertId.data);
  }

  private selectAlerts(where: SQL | undefined, actor?: Actor, limit = 1): Promise<AlertView[]> {
    return alertsQuery(this.deps.db, where, actor, limit).then((rows) => rows.map(alertView));
  }

  private async publish(alertId: string): Promise<void> {
    await this.deps.events?.publish({ type: "alert.changed", alertId });
  }
}

/** The query behind one page of security events, newest first (one row more than the page); exported so a test can check its plan. */
export function securityEventsPageQuery(db: Database, actor: Actor, input: z.output<typeof securityEventsInput>) {
  const conditions: (SQL | undefined)[] = [ownKeysOnly(db, actor, securityEvents.keyId)];
  if (input.kind) conditions.push(eq(securityEvents.kind, input.kind));
  if (input.keyId) conditions.push(eq(securityEvents.keyId, input.keyId));
  if (input.severity) conditions.push(eq(securityEvents.severity, input.severity));
  if (input.from) conditions.push(gte(securityEvents.occurredAt, new Date(input.from)));
  if (input.to) conditions.push(lt(securityEvents.occurredAt, new Date(input.to)));
  if (input.cursor) conditions.push(afterCursor(input.cursor, "string", securityEvents.occurredAt, securityEvents.id));
  return db
    .select(eventColumns)
    .from(securityEvents)
    .where(and(...conditions))
    .orderBy(desc(securityEvents.occurredAt), desc(securityEvents.id))
    .limit(input.limit + 1);
}

/** The query behind every read of alerts, newest first by first firing; exported so a test can check its plan. */
export function alertsQuery(db: Database, where: SQL | undefined, actor: Actor | undefined, limit: number) {
  return db
    .select(alertColumns)
    .from(alerts)
    .innerJoin(alertRules, eq(alertRules.id, alerts.ruleId))
    .where(and(where, actor ? ownKeysOnly(db, actor, alerts.keyId) : undefined))
    .orderBy(desc(alerts.firstFiredAt), desc(alerts.id))
    .limit(limit);
}

/** For an actor without the admin scope: only rows about keys they own. */
function ownKeysOnly(db: Database, actor: Actor, keyColumn: typeof securityEvents.keyId | typeof alerts.keyId): SQL | undefined {
  if (seesEveryone(actor)) return undefined;
  const owned = db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.ownerId, actorUserId(actor)!));
  return inArray(keyColumn, owned);
}
