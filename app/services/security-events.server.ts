import { and, count, eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client.server";
import { auditEvents, securityEvents, type Severity } from "../../db/schema";
import { newId } from "../lib/ids";
import { addressBucket } from "../lib/ip";
import { logger } from "../lib/logger.server";
import type { Clock } from "./clock.server";

export type { Severity };

/** Everything recorded, by kind. Refusals use the refusal's stable error code as their kind. */
export const SECURITY_EVENT_KINDS = [
  "invalid_key",
  "key_revoked",
  "key_disabled",
  "key_expired",
  "credentials_in_url",
  "ip_not_allowed",
  "insufficient_scope",
  "rate_limited",
  "too_many_failures",
  "not_a_root_key",
  "insufficient_permissions",
  "wrong_api",
  "usage_exceeded",
  "login_failed",
  "login_locked",
  "key_revealed",
  "admin_login_new_ip",
  "rate_limiter_fallback",
  "rate_limiter_recovered",
] as const;
export type SecurityEventKind = (typeof SECURITY_EVENT_KINDS)[number];

/** What a written batch touched: the alert rules are evaluated for these (kind, key, ip) groups. */
export interface TouchedGroup {
  kind: SecurityEventKind;
  keyId: string | null;
  clientIp: string | null;
}

export interface SecurityEventEvaluator {
  evaluate(touched: TouchedGroup[]): Promise<void>;
}

/** What the request path reports. Kinds are the refusal's stable code where there is one. */
export interface SecurityEventInput {
  kind: SecurityEventKind;
  severity: Severity;
  keyId?: string | null;
  clientIp?: string | null;
  /** Never a secret or a presented key. */
  details?: Record<string, unknown>;
  /** High-volume kinds count into one row per minute per (kind, key, address bucket); one-off events get their own row. Default true. */
  aggregate?: boolean;
}

interface Pending {
  kind: SecurityEventKind;
  severity: Severity;
  keyId: string | null;
  clientIp: string | null;
  details: Record<string, unknown>;
  occurredAt: Date;
  firstSeen: Date;
  lastSeen: Date;
  count: number;
  aggregateKey: string | null;
}

export interface SecurityEventServiceDeps {
  db: Database;
  clock: Clock;
  /** How often buffered events are written. @default 1000 */
  flushIntervalMs?: number;
  /** Buffered rows that trigger an early flush (and the most kept while the database is unreachable). @default 5000 */
  maxPending?: number;
  /** Told about every batch once it is in the database (off the request path): the alert rules. */
  evaluator?: SecurityEventEvaluator;
  /** Where failures of the background writes are reported. @default the logger, at error level */
  onError?: (message: string, error: unknown) => void;
}

const MINUTE_MS = 60_000;

/**
 * Records security events without a database write on the request path: events are counted in
 * memory and written in one batched upsert per interval, so a flood of refused requests costs one
 * row update per (kind, key, address bucket) per minute instead of one write per request. The
 * bucket is an IPv4 address or an IPv6 /64 (addressBucket): a client rotating through its /64
 * still fills one row. A row keeps the first exact address it counted, and an IPv6 row names its
 * /64 in `details.clientNetwork`, which the per-address alert rules group by.
 */
export class SecurityEventService {
  private pending = new Map<string, Pending>();
  private timer?: ReturnType<typeof setInterval>;
  private flushing: Promise<void> = Promise.resolve();
  private oneOff = 0;

  constructor(private readonly deps: SecurityEventServiceDeps) {}

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.deps.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  record(event: SecurityEventInput): void {
    const now = this.deps.clock.now();
    const aggregate = event.aggregate ?? true;
    const keyId = event.keyId ?? null;
    const clientIp = event.clientIp ?? null;
    const bucket = clientIp === null ? null : addressBucket(clientIp);
    const occurredAt = aggregate ? new Date(Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS) : now;
    const aggregateKey = aggregate ? [event.kind, occurredAt.toISOString(), keyId ?? "", bucket ?? ""].join("|") : null;
    const slot = aggregateKey ?? `one-off:${++this.oneOff}`;
    const existing = this.pending.get(slot);
    if (existing) {
      existing.count += 1;
      existing.lastSeen = now;
      return;
    }
    const limit = this.deps.maxPending ?? 5000;
    // Full only while writes fail: drop new rows rather than grow without bound.
    if (this.pending.size >= limit) return;
    this.pending.set(slot, {
      kind: event.kind,
      severity: event.severity,
      keyId,
      clientIp,
      details: bucket !== null && bucket !== clientIp ? { ...event.details, clientNetwork: bucket } : (event.details ?? {}),
      occurredAt,
      firstSeen: now,
      lastSeen: now,
      count: 1,
      aggregateKey,
    });
    if (this.pending.size === limit) void this.flush();
  }

  /** Writes everything buffered so far; resolves when it is in the database. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const rows = [...batch.values()].map((row) => ({ id: newId("sev"), ...row }));
    try {
      await this.deps.db
        .insert(securityEvents)
        .values(rows)
        .onConflictDoUpdate({
          target: securityEvents.aggregateKey,
          set: {
            count: sql`${securityEvents.count} + excluded.count`,
            firstSeen: sql`least(${securityEvents.firstSeen}, excluded.first_seen)`,
            lastSeen: sql`greatest(${securityEvents.lastSeen}, excluded.last_seen)`,
          },
        });
    } catch (error) {
      this.reportError("Could not write security events; keeping them for the next flush", error);
      this.requeue(batch);
      return;
    }
    if (!this.deps.evaluator) return;
    try {
      await this.deps.evaluator.evaluate(rows.map(({ kind, keyId, clientIp }) => ({ kind, keyId, clientIp })));
    } catch (error) {
      this.reportError("Could not evaluate the alert rules for a batch of security events", error);
    }
  }

  /**
   * After a successful dashboard sign-in: an admin signing in from an address none of their earlier
   * sign-ins came from is recorded as `admin_login_new_ip`. The first sign-in ever sets the baseline
   * (it is not "new" against nothing). Reads the `auth.login` audit entries, which include this one.
   */
  async noteSignIn(user: { id: string; role: string }, clientIp: string): Promise<void> {
    if (user.role !== "admin") return;
    try {
      const rows = await this.deps.db
        .select({ fromHere: sql<number>`count(*) filter (where ${auditEvents.clientIp} = ${clientIp})`.mapWith(Number), total: count() })
        .from(auditEvents)
        .where(and(eq(auditEvents.actorId, user.id), eq(auditEvents.action, "auth.login")));
      const { fromHere = 0, total = 0 } = rows[0] ?? {};
      // This sign-in is one of them: new when it is the only one from here and others exist.
      if (fromHere <= 1 && total > fromHere) {
        this.record({ kind: "admin_login_new_ip", severity: "warning", aggregate: false, clientIp, details: { userId: user.id, earlierSignIns: total - fromHere } });
      }
    } catch (error) {
      this.reportError("Could not check an admin sign-in against earlier addresses", error);
    }
  }

  private reportError(message: string, error: unknown): void {
    if (this.deps.onError) this.deps.onError(message, error);
    else logger.error({ err: error }, message);
  }

  /** Puts an unwritten batch back, merged with what arrived meanwhile, within the buffer bound. */
  private requeue(batch: Map<string, Pending>): void {
    const limit = this.deps.maxPending ?? 5000;
    for (const [slot, row] of batch) {
      const newer = this.pending.get(slot);
      if (newer) {
        newer.count += row.count;
        newer.firstSeen = row.firstSeen;
      } else if (this.pending.size < limit) {
        this.pending.set(slot, row);
      }
    }
  }
}
