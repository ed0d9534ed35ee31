import { sql } from "drizzle-orm";
import type { Database } from "../../db/client.server";
import { securityEvents, type Severity } from "../../db/schema";
import { newId } from "../lib/ids";
import type { Clock } from "./clock.server";

export type { Severity };

/** What the request path reports. Kinds are the refusal's stable code where there is one. */
export interface SecurityEventInput {
  kind: string;
  severity: Severity;
  keyId?: string | null;
  clientIp?: string | null;
  /** Never a secret or a presented key. */
  details?: Record<string, unknown>;
  /** High-volume kinds count into one row per minute per (kind, key, ip); one-off events get their own row. Default true. */
  aggregate?: boolean;
}

interface Pending {
  kind: string;
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
}

const MINUTE_MS = 60_000;

/**
 * Records security events without a database write on the request path: events are counted in
 * memory and written in one batched upsert per interval, so a flood of refused requests costs one
 * row update per (kind, key, ip) per minute instead of one write per request.
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
    const occurredAt = aggregate ? new Date(Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS) : now;
    const aggregateKey = aggregate ? [event.kind, occurredAt.toISOString(), keyId ?? "", clientIp ?? ""].join("|") : null;
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
      details: event.details ?? {},
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
      console.error("Could not write security events; keeping them for the next flush", error);
      this.requeue(batch);
    }
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
