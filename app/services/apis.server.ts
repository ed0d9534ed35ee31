import { and, count, desc, eq, gt, ilike, inArray, isNull, or, sql, type AnyColumn, type SQL } from "drizzle-orm";
import type { Database } from "../../db/client.server";
import { apiKeys, apis, DEFAULT_IMPLICATIONS, DEFAULT_PERMISSIONS, type ApiKeyDefaults, type PermissionImplications } from "../../db/schema";
import { isUniqueViolation } from "../../db/errors";
import type { CreateApiInput, ListApisInput, UpdateApiInput } from "../lib/apis-schemas";
import { listApisInput } from "../lib/apis-schemas";
import { afterCursor, encodeCursor, pageOf, type Page } from "../lib/cursor";
import { newId } from "../lib/ids";
import { prefixProblem } from "../lib/key-format";
import { unknownImplications } from "../lib/permissions";
import { actorApiIds, actorUserId, mayAccess, requireScope, seesEveryone, type Actor } from "./actor.server";
import { recordAudit } from "./audit.server";
import type { Clock } from "./clock.server";
import { KeywardError, notFound } from "./errors.server";
import type { EventBus } from "./events.server";

/** An API as every surface shows it. Timestamps are ISO 8601 UTC. */
export interface ApiView {
  id: string;
  name: string;
  prefix: string;
  ownerId: string;
  permissions: string[];
  implications: PermissionImplications;
  defaults: ApiKeyDefaults;
  archivedAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** Its keys: all of them, and those neither revoked nor expired. */
  keyCount: { total: number; live: number };
}

export type ApiRow = typeof apis.$inferSelect;

export interface ApiServiceDeps {
  db: Database;
  clock: Clock;
  events?: Pick<EventBus, "publish">;
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** Keys that may still verify (a disabled key can be enabled again): not revoked, not expired. */
export const liveKeyCondition = (now: Date): SQL => and(isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)))!;

/** How many of the grouped keys are live. */
export const countLive = (now: Date) => sql<number>`count(*) filter (where ${liveKeyCondition(now)})`.mapWith(Number);

/**
 * The services an operator protects. The creator owns an API; admins see every one; a root key
 * restricted to some APIs sees only those, and cannot create APIs (it would not see them).
 */
export class ApiService {
  constructor(private readonly deps: ApiServiceDeps) {}

  /**
   * Creates an API owned by the acting user. The system actor (CLI, seed) acts for no user, so it
   * names the owner instead (`options.ownerId`).
   */
  async create(actor: Actor, input: CreateApiInput, options: { ownerId?: string } = {}): Promise<ApiView> {
    requireScope(actor, "write");
    if (options.ownerId !== undefined && actor.kind !== "system") throw new KeywardError("forbidden", "An API is owned by the user who creates it");
    const ownerId = actorUserId(actor) ?? options.ownerId;
    if (!ownerId) throw new KeywardError("validation_failed", "An API is owned by a user; create it from the dashboard or with a root key", { field: "ownerId" });
    if (actorApiIds(actor) !== null) throw new KeywardError("forbidden", "A root key restricted to some APIs cannot create APIs");
    const prefixInvalid = prefixProblem(input.prefix);
    if (prefixInvalid) throw new KeywardError("validation_failed", prefixInvalid, { field: "prefix" });
    const permissions = input.permissions ?? DEFAULT_PERMISSIONS;
    const implications = input.implications ?? (input.permissions ? {} : DEFAULT_IMPLICATIONS);
    assertImplicationsKnown(implications, permissions);
    const now = this.deps.clock.now();
    const id = newId("api");
    try {
      const row = await this.deps.db.transaction(async (tx) => {
        const [inserted] = await tx
          .insert(apis)
          .values({ id, ownerId, name: input.name, prefix: input.prefix, permissions, implications, defaults: input.defaults ?? {}, createdAt: now, updatedAt: now })
          .returning();
        await recordAudit(tx, actor, { action: "api.created", targetType: "api", targetId: id, details: { name: input.name, prefix: input.prefix } }, now);
        return inserted!;
      });
      return toView(row, { total: 0, live: 0 });
    } catch (error) {
      if (isUniqueViolation(error)) throw new KeywardError("conflict", `The prefix "${input.prefix}" is already taken by another API`, { field: "prefix" });
      throw error;
    }
  }

  /**
   * The visible APIs' ids and names, newest first, without their key counts: what a filter menu
   * needs. Counting keys reads every key of an API (about a second at a million keys), which a page
   * that only names the APIs must not pay on every load.
   */
  async names(actor: Actor, rawInput: ListApisInput = {}): Promise<{ id: string; name: string }[]> {
    requireScope(actor, "read");
    const input = listApisInput.parse(rawInput);
    const rows = await listApisQuery(this.deps.db, actor, input);
    return rows.slice(0, input.limit).map((row) => ({ id: row.id, name: row.name }));
  }

  async list(actor: Actor, rawInput: ListApisInput = {}): Promise<Page<ApiView>> {
    requireScope(actor, "read");
    const input = listApisInput.parse(rawInput);
    const rows = await listApisQuery(this.deps.db, actor, input);
    const page = rows.slice(0, input.limit);
    const counts = await this.keyCounts(page.map((row) => row.id));
    return pageOf(
      page.map((row) => toView(row, counts.get(row.id))),
      rows.length > input.limit ? encodeCursor(page.at(-1)!.createdAt, page.at(-1)!.id) : null,
    );
  }

  async get(actor: Actor, id: string): Promise<ApiView> {
    requireScope(actor, "read");
    const row = await this.findVisible(actor, id);
    return toView(row, (await this.keyCounts([id])).get(id));
  }

  /** The API as the actor may see it; another owner's (or another restriction's) API is "not found". */
  async findVisible(actor: Actor, id: string): Promise<ApiRow> {
    const [row] = await this.deps.db.select().from(apis).where(eq(apis.id, id));
    if (!row || !mayAccess(actor, row.ownerId, row.id)) throw notFound("API");
    return row;
  }

  /** As findVisible, for creating something in it: an archived API takes nothing new. */
  async findOpen(actor: Actor, id: string): Promise<ApiRow> {
    const row = await this.findVisible(actor, id);
    if (row.archivedAt) throw new KeywardError("invalid_state", "This API is archived; it takes no new keys or identities");
    return row;
  }

  async update(actor: Actor, id: string, patch: UpdateApiInput): Promise<ApiView> {
    requireScope(actor, "write");
    const current = await this.findOpen(actor, id);
    const permissions = patch.permissions ?? current.permissions;
    const implications = patch.implications ?? current.implications;
    assertImplicationsKnown(implications, permissions);
    if (patch.permissions) await this.assertNoLiveGrantRemoved(id, permissions);
    const now = this.deps.clock.now();
    const values = {
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.permissions !== undefined && { permissions }),
      ...(patch.implications !== undefined && { implications }),
      ...(patch.defaults !== undefined && { defaults: patch.defaults }),
    };
    const row = await this.deps.db.transaction(async (tx) => {
      const [updated] = await tx.update(apis).set({ ...values, updatedAt: now }).where(eq(apis.id, id)).returning();
      await recordAudit(tx, actor, { action: "api.updated", targetType: "api", targetId: id, details: { changes: changes(current, updated!) } }, now);
      return updated!;
    });
    await this.deps.events?.publish({ type: "api.changed", apiId: id });
    return toView(row, (await this.keyCounts([id])).get(id));
  }

  /** Archives the API: refused while it has live keys (revoke them first); its keys stay readable, and never verify again. */
  async archive(actor: Actor, id: string): Promise<ApiView> {
    requireScope(actor, "write");
    const current = await this.findVisible(actor, id);
    const now = this.deps.clock.now();
    if (current.archivedAt) return toView(current, (await this.keyCounts([id])).get(id));
    const row = await this.deps.db.transaction(async (tx) => {
      // Under the API's row lock, so a key created concurrently either lands first (and is counted) or finds the API archived.
      await tx.select({ id: apis.id }).from(apis).where(eq(apis.id, id)).for("update");
      const [live] = await tx.select({ n: count() }).from(apiKeys).where(and(eq(apiKeys.apiId, id), liveKeyCondition(now)));
      if (live!.n > 0) {
        throw new KeywardError("conflict", `This API still has ${live!.n} live key${live!.n === 1 ? "" : "s"}; revoke them before deleting it`, { liveKeys: live!.n });
      }
      const [archived] = await tx.update(apis).set({ archivedAt: now, updatedAt: now }).where(eq(apis.id, id)).returning();
      await recordAudit(tx, actor, { action: "api.archived", targetType: "api", targetId: id, details: { name: current.name, prefix: current.prefix } }, now);
      return archived!;
    });
    await this.deps.events?.publish({ type: "api.changed", apiId: id });
    return toView(row, (await this.keyCounts([id])).get(id));
  }

  private async keyCounts(ids: string[]): Promise<Map<string, { total: number; live: number }>> {
    if (ids.length === 0) return new Map();
    const now = this.deps.clock.now();
    const rows = await this.deps.db
      .select({ apiId: apiKeys.apiId, total: count(), live: countLive(now) })
      .from(apiKeys)
      .where(inArray(apiKeys.apiId, ids))
      .groupBy(apiKeys.apiId);
    return new Map(rows.map((row) => [row.apiId!, { total: row.total, live: row.live }]));
  }

  /** A name leaves the vocabulary only once no live key is granted it: a key's grants never name what its API no longer has. */
  private async assertNoLiveGrantRemoved(apiId: string, permissions: readonly string[]): Promise<void> {
    const now = this.deps.clock.now();
    const granted = await this.deps.db
      .selectDistinct({ name: sql<string>`unnest(${apiKeys.permissions})` })
      .from(apiKeys)
      .where(and(eq(apiKeys.apiId, apiId), liveKeyCondition(now)));
    const removed = granted.map((row) => row.name).filter((name) => !name.includes("*") && !permissions.includes(name));
    if (removed.length > 0) {
      throw new KeywardError("conflict", `Live keys still hold ${removed.join(", ")}; take it from them before removing it from the vocabulary`, { field: "permissions", granted: removed });
    }
  }
}

/**
 * `mayAccess` as SQL conditions over a table's owner and API columns: the owner's rows (all of
 * them for admins), and only those of its APIs for a root key restricted to some.
 */
export function accessConditions(actor: Actor, columns: { owner: AnyColumn; api: AnyColumn }): SQL[] {
  const conditions: SQL[] = [];
  if (!seesEveryone(actor)) conditions.push(eq(columns.owner, actorUserId(actor) ?? ""));
  const apiIds = actorApiIds(actor);
  if (apiIds !== null) conditions.push(apiIds.length > 0 ? inArray(columns.api, [...apiIds]) : sql`false`);
  return conditions;
}

/** The query behind one page of the API list (one row more than the page, to tell whether another follows); exported so a test can check its plan. */
export function listApisQuery(db: Database, actor: Actor, input: ReturnType<typeof listApisInput.parse>) {
  const conditions: SQL[] = [...visibility(actor)];
  if (!input.includeArchived) conditions.push(isNull(apis.archivedAt));
  if (input.q) conditions.push(ilike(apis.name, `%${input.q.replace(/[\\%_]/g, "\\$&")}%`));
  if (input.cursor) conditions.push(afterCursor(input.cursor, "string", apis.createdAt, apis.id, "desc"));
  return db
    .select()
    .from(apis)
    .where(and(...conditions))
    .orderBy(desc(apis.createdAt), desc(apis.id))
    .limit(input.limit + 1);
}

/** The conditions that keep an actor to the APIs it may see. */
export const visibility = (actor: Actor): SQL[] => accessConditions(actor, { owner: apis.ownerId, api: apis.id });

function assertImplicationsKnown(implications: PermissionImplications, permissions: readonly string[]): void {
  const unknown = unknownImplications(implications, permissions);
  if (unknown.length > 0) {
    throw new KeywardError("validation_failed", `implications name permissions outside the vocabulary: ${[...new Set(unknown)].join(", ")}`, { field: "implications" });
  }
}

function toView(row: ApiRow, keyCount: { total: number; live: number } = { total: 0, live: 0 }): ApiView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    ownerId: row.ownerId,
    permissions: row.permissions,
    implications: row.implications,
    defaults: row.defaults,
    archivedAt: iso(row.archivedAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    keyCount,
  };
}

function changes(before: ApiRow, after: ApiRow): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const field of ["name", "permissions", "implications", "defaults"] as const) {
    if (JSON.stringify(before[field]) !== JSON.stringify(after[field])) out[field] = { from: before[field], to: after[field] };
  }
  return out;
}

