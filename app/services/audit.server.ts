import { and, desc, eq, gte, like, lt, or, type SQL } from "drizzle-orm";
import type { Database } from "../../db/client.server";
import { auditEvents, users } from "../../db/schema";
import {
  auditExportInput,
  auditListInput,
  keyAuditInput,
  type AuditEntryView,
  type AuditExportFormat,
  type AuditFilterInput,
  type AuditListInput,
} from "../lib/audit-schemas";
import { afterCursor, encodeCursor, pageOf, type Page } from "../lib/cursor";
import { newId } from "../lib/ids";
import { requireScope, type Actor } from "./actor.server";
import type { Clock } from "./clock.server";
import type { KeyService } from "./keys.server";

/** A database or an open transaction: audit entries are written inside the change's own transaction. */
export type Executor = Pick<Database, "insert">;

export interface AuditEntry {
  action: string;
  targetType: "api_key" | "api" | "identity" | "user" | "session" | "settings" | "alert";
  targetId: string;
  details?: Record<string, unknown>;
}

export async function recordAudit(tx: Executor, actor: Actor, entry: AuditEntry, at: Date): Promise<void> {
  await tx.insert(auditEvents).values({
    id: newId("aud"),
    occurredAt: at,
    actorType: actor.kind === "system" ? "system" : actor.keyId ? "api_key" : "user",
    actorId: actor.kind === "user" ? actor.userId : null,
    actorKeyId: actor.kind === "user" ? (actor.keyId ?? null) : null,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    clientIp: actor.meta?.ip ?? null,
    userAgent: actor.meta?.userAgent ?? null,
    requestId: actor.meta?.requestId ?? null,
    details: actor.kind === "system" ? { via: actor.label, ...entry.details } : (entry.details ?? {}),
  });
}

export interface AuditServiceDeps {
  db: Database;
  clock: Clock;
  keys: Pick<KeyService, "get">;
  /** Entries older than this are pruned once a day; unset keeps them forever. */
  retentionDays?: number;
}

const DAY_MS = 86_400_000;
const EXPORT_PAGE = 1000;
const CSV_COLUMNS = ["id", "occurredAt", "actorType", "actorId", "actorEmail", "actorKeyId", "action", "targetType", "targetId", "clientIp", "userAgent", "requestId", "details"] as const;

/**
 * Reads of the append-only audit trail. There is deliberately no method that changes or deletes an
 * entry; the only removal is the retention prune, which an operator opts into.
 */
export class AuditService {
  private timer?: ReturnType<typeof setInterval>;

  constructor(private readonly deps: AuditServiceDeps) {}

  /** Starts the daily prune when a retention is configured. */
  start(): void {
    if (this.deps.retentionDays === undefined || this.timer) return;
    const prune = () => void this.prune().catch(() => undefined);
    prune();
    this.timer = setInterval(prune, DAY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Deletes entries older than the retention; returns how many. A no-op without a retention. */
  async prune(): Promise<number> {
    if (this.deps.retentionDays === undefined) return 0;
    const cutoff = new Date(this.deps.clock.now().getTime() - this.deps.retentionDays * DAY_MS);
    const deleted = await this.deps.db.delete(auditEvents).where(lt(auditEvents.occurredAt, cutoff)).returning({ id: auditEvents.id });
    return deleted.length;
  }

  /** Everyone's entries, newest first (admin scope). */
  async list(actor: Actor, rawInput: AuditListInput = {}): Promise<Page<AuditEntryView>> {
    requireScope(actor, "admin");
    const input = auditListInput.parse(rawInput);
    return this.page(input, input.limit, input.cursor);
  }

  /** The entries about one key, for anyone who can see the key (another owner's key is not found). */
  async forKey(actor: Actor, rawInput: { keyId: string; limit?: number; cursor?: string }): Promise<Page<AuditEntryView>> {
    const input = keyAuditInput.parse(rawInput);
    await this.deps.keys.get(actor, input.keyId);
    return this.page({ targetId: input.keyId }, input.limit, input.cursor);
  }

  /**
   * The entries matching a filter as CSV or NDJSON text chunks, newest first, read page by page so an
   * export of millions of rows never sits in memory (admin scope).
   */
  async *export(actor: Actor, rawInput: AuditFilterInput & { format?: AuditExportFormat }): AsyncGenerator<string> {
    requireScope(actor, "admin");
    const { format, ...filter } = auditExportInput.parse(rawInput);
    if (format === "csv") yield `${CSV_COLUMNS.join(",")}\r\n`;
    let cursor: string | undefined;
    do {
      const { data, nextCursor } = await this.page(filter, EXPORT_PAGE, cursor);
      yield data.map(format === "csv" ? csvLine : (entry) => `${JSON.stringify(entry)}\n`).join("");
      cursor = nextCursor ?? undefined;
    } while (cursor);
  }

  private async page(filter: AuditFilterInput, limit: number, cursor: string | undefined): Promise<Page<AuditEntryView>> {
    const rows = await auditPageQuery(this.deps.db, filter, limit, cursor);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return pageOf(
      page.map((row) => ({ ...row, occurredAt: row.occurredAt.toISOString() })),
      rows.length > limit && last ? encodeCursor(last.occurredAt, last.id) : null,
    );
  }
}

/** The query behind one page of entries matching a filter, newest first (one row more than the page); exported so a test can check its plan. */
export function auditPageQuery(db: Database, filter: AuditFilterInput, limit: number, cursor: string | undefined) {
  const where = filterConditions(filter);
  if (cursor) where.push(afterCursor(cursor, "string", auditEvents.occurredAt, auditEvents.id));
  return db
    .select({
      id: auditEvents.id,
      occurredAt: auditEvents.occurredAt,
      actorType: auditEvents.actorType,
      actorId: auditEvents.actorId,
      actorEmail: users.email,
      actorKeyId: auditEvents.actorKeyId,
      action: auditEvents.action,
      targetType: auditEvents.targetType,
      targetId: auditEvents.targetId,
      clientIp: auditEvents.clientIp,
      userAgent: auditEvents.userAgent,
      requestId: auditEvents.requestId,
      details: auditEvents.details,
    })
    .from(auditEvents)
    .leftJoin(users, eq(users.id, auditEvents.actorId))
    .where(and(...where))
    .orderBy(desc(auditEvents.occurredAt), desc(auditEvents.id))
    .limit(limit + 1);
}

function filterConditions(filter: AuditFilterInput): SQL[] {
  const conditions: SQL[] = [];
  if (filter.action?.endsWith(".*")) conditions.push(like(auditEvents.action, `${filter.action.slice(0, -1)}%`));
  else if (filter.action) conditions.push(eq(auditEvents.action, filter.action));
  if (filter.actorId) conditions.push(or(eq(auditEvents.actorId, filter.actorId), eq(auditEvents.actorKeyId, filter.actorId))!);
  if (filter.targetId) conditions.push(eq(auditEvents.targetId, filter.targetId));
  if (filter.from) conditions.push(gte(auditEvents.occurredAt, new Date(filter.from)));
  if (filter.to) conditions.push(lt(auditEvents.occurredAt, new Date(filter.to)));
  return conditions;
}

/** One CSV record (RFC 4180). Cells a spreadsheet would run as a formula are prefixed with `'`. */
function csvLine(entry: AuditEntryView): string {
  return `${CSV_COLUMNS.map((column) => {
    const value = entry[column];
    let text = value === null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  }).join(",")}\r\n`;
}
