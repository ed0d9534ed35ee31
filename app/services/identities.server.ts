import { and, count, desc, eq, ilike, inArray, isNull, type SQL } from "drizzle-orm";
import type { Database } from "../../db/client.server";
import { apiKeys, apis, identities, type NamedRateLimit, type RateLimit } from "../../db/schema";
import { isUniqueViolation } from "../../db/errors";
import type { CreateIdentityInput, ListIdentitiesInput, UpdateIdentityInput } from "../lib/apis-schemas";
import { listIdentitiesInput } from "../lib/apis-schemas";
import { afterCursor, encodeCursor, pageOf, type Page } from "../lib/cursor";
import { newId } from "../lib/ids";
import { mayAccess, requireScope, type Actor } from "./actor.server";
import { countLive, liveKeyCondition, visibility, type ApiService } from "./apis.server";
import { recordAudit } from "./audit.server";
import type { Clock } from "./clock.server";
import { KeywardError, notFound } from "./errors.server";
import type { EventBus } from "./events.server";
import { assertNamedLimitsAllowed } from "./keys.server";

/** A customer of an API, as every surface shows it. */
export interface IdentityView {
  id: string;
  apiId: string;
  externalId: string;
  meta: Record<string, unknown>;
  /** Named limits shared by all its keys: every verification of any of them takes from them. */
  ratelimits: NamedRateLimit[];
  createdAt: string;
  updatedAt: string;
  /** Its keys: all of them, and those neither revoked nor expired. */
  keyCount: { total: number; live: number };
}

type IdentityRow = typeof identities.$inferSelect;

export interface IdentityServiceDeps {
  db: Database;
  clock: Clock;
  apis: Pick<ApiService, "findOpen" | "findVisible">;
  events?: Pick<EventBus, "publish">;
  /** The loosest limit anyone may set (KEYWARD_MAX_RATE_LIMIT), for each shared limit as for a key's. */
  maxRateLimit?: RateLimit;
}

/** The query behind one page of the identity list (one row more than the page, to tell whether another follows); exported so a test can check its plan. */
export function listIdentitiesQuery(db: Database, actor: Actor, input: ReturnType<typeof listIdentitiesInput.parse>) {
  const conditions: SQL[] = visibility(actor);
  if (input.apiId) conditions.push(eq(identities.apiId, input.apiId));
  if (input.externalId !== undefined) conditions.push(eq(identities.externalId, input.externalId));
  if (input.q) conditions.push(ilike(identities.externalId, `%${input.q.replace(/[\\%_]/g, "\\$&")}%`));
  if (input.cursor) conditions.push(afterCursor(input.cursor, "string", identities.createdAt, identities.id, "desc"));
  return db
    .select({ identity: identities })
    .from(identities)
    .innerJoin(apis, eq(apis.id, identities.apiId))
    .where(and(...conditions))
    .orderBy(desc(identities.createdAt), desc(identities.id))
    .limit(input.limit + 1);
}

/**
 * Identities: who an issued key belongs to, by the operator's own `externalId` (unique within an
 * API). Visible to whoever may see their API. Created explicitly here, or implicitly by the first
 * key issued with a new externalId.
 */
export class IdentityService {
  constructor(private readonly deps: IdentityServiceDeps) {}

  async create(actor: Actor, input: CreateIdentityInput): Promise<IdentityView> {
    requireScope(actor, "write");
    const api = await this.deps.apis.findOpen(actor, input.apiId);
    assertNamedLimitsAllowed(input.ratelimits ?? [], this.deps.maxRateLimit);
    const now = this.deps.clock.now();
    const id = newId("idt");
    try {
      const row = await this.deps.db.transaction(async (tx) => {
        const [inserted] = await tx
          .insert(identities)
          .values({ id, apiId: api.id, externalId: input.externalId, metadata: input.meta ?? {}, ratelimits: input.ratelimits ?? [], createdAt: now, updatedAt: now })
          .returning();
        await recordAudit(tx, actor, { action: "identity.created", targetType: "identity", targetId: id, details: { apiId: api.id, externalId: input.externalId, ...(input.ratelimits && { ratelimits: input.ratelimits }) } }, now);
        return inserted!;
      });
      return toView(row, { total: 0, live: 0 });
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicateExternalId(input.externalId);
      throw error;
    }
  }

  async list(actor: Actor, rawInput: ListIdentitiesInput = {}): Promise<Page<IdentityView>> {
    requireScope(actor, "read");
    const input = listIdentitiesInput.parse(rawInput);
    const rows = await listIdentitiesQuery(this.deps.db, actor, input);
    const page = rows.slice(0, input.limit).map((row) => row.identity);
    const counts = await this.keyCounts(page.map((row) => row.id));
    return pageOf(
      page.map((row) => toView(row, counts.get(row.id))),
      rows.length > input.limit ? encodeCursor(page.at(-1)!.createdAt, page.at(-1)!.id) : null,
    );
  }

  async get(actor: Actor, id: string): Promise<IdentityView> {
    requireScope(actor, "read");
    const row = await this.findVisible(actor, id);
    return toView(row, (await this.keyCounts([id])).get(id));
  }

  /** The identity with this externalId: within `apiId`, or the only one among the APIs the actor sees (else ambiguous: 409). */
  async findByExternalId(actor: Actor, externalId: string, apiId?: string): Promise<IdentityView> {
    const { data } = await this.list(actor, { externalId, apiId, limit: 2 });
    if (data.length === 0) throw notFound("Identity");
    if (data.length > 1) throw new KeywardError("conflict", `Several of your APIs have an identity "${externalId}"; say which with apiId`, { field: "apiId" });
    return data[0]!;
  }

  async update(actor: Actor, id: string, patch: UpdateIdentityInput): Promise<IdentityView> {
    requireScope(actor, "write");
    const current = await this.findVisible(actor, id);
    if (patch.ratelimits !== undefined) assertNamedLimitsAllowed(patch.ratelimits, this.deps.maxRateLimit);
    const now = this.deps.clock.now();
    try {
      const row = await this.deps.db.transaction(async (tx) => {
        const [updated] = await tx
          .update(identities)
          .set({
            ...(patch.externalId !== undefined && { externalId: patch.externalId }), ...(patch.meta !== undefined && { metadata: patch.meta }),
            ...(patch.ratelimits !== undefined && { ratelimits: patch.ratelimits }),
            updatedAt: now,
          })
          .where(eq(identities.id, id))
          .returning();
        const changes: Record<string, { from: unknown; to: unknown }> = {};
        if (patch.externalId !== undefined && patch.externalId !== current.externalId) changes.externalId = { from: current.externalId, to: patch.externalId };
        if (patch.meta !== undefined) changes.meta = { from: current.metadata, to: patch.meta };
        if (patch.ratelimits !== undefined) changes.ratelimits = { from: current.ratelimits, to: patch.ratelimits };
        await recordAudit(tx, actor, { action: "identity.updated", targetType: "identity", targetId: id, details: { changes } }, now);
        return updated!;
      });
      await this.deps.events?.publish({ type: "identity.changed", identityId: id });
      return toView(row, (await this.keyCounts([id])).get(id));
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicateExternalId(patch.externalId!);
      throw error;
    }
  }

  /**
   * Deletes an identity that has no live keys (revoke them first). Its revoked and expired keys
   * stay, detached from it; the audit entry records which ones.
   */
  async delete(actor: Actor, id: string): Promise<{ id: string; deleted: true; detachedKeys: number }> {
    requireScope(actor, "write");
    const current = await this.findVisible(actor, id);
    const now = this.deps.clock.now();
    const detached = await this.deps.db.transaction(async (tx) => {
      await tx.select({ id: identities.id }).from(identities).where(eq(identities.id, id)).for("update");
      const [live] = await tx.select({ n: count() }).from(apiKeys).where(and(eq(apiKeys.identityId, id), liveKeyCondition(now)));
      if (live!.n > 0) {
        throw new KeywardError("conflict", `This identity still has ${live!.n} live key${live!.n === 1 ? "" : "s"}; revoke them (revoke-keys) before deleting it`, { liveKeys: live!.n });
      }
      const keys = await tx.update(apiKeys).set({ identityId: null, updatedAt: now }).where(eq(apiKeys.identityId, id)).returning({ id: apiKeys.id });
      await tx.delete(identities).where(eq(identities.id, id));
      await recordAudit(tx, actor, { action: "identity.deleted", targetType: "identity", targetId: id, details: { apiId: current.apiId, externalId: current.externalId, detachedKeyIds: keys.map((k) => k.id) } }, now);
      return keys.length;
    });
    return { id, deleted: true, detachedKeys: detached };
  }

  /** Revokes every key of the identity not yet revoked, in one transaction and one audit entry. */
  revokeKeys(actor: Actor, id: string): Promise<{ identityId: string; count: number; keyIds: string[] }> {
    return this.changeKeys(actor, id, "identity.keys_revoked", (now) => ({ revokedAt: now, revokedBy: actor.kind === "user" ? actor.userId : null }), isNull(apiKeys.revokedAt));
  }

  /** Disables every live, enabled key of the identity, in one transaction and one audit entry. */
  disableKeys(actor: Actor, id: string): Promise<{ identityId: string; count: number; keyIds: string[] }> {
    return this.changeKeys(actor, id, "identity.keys_disabled", (now) => ({ disabledAt: now }), and(isNull(apiKeys.revokedAt), isNull(apiKeys.disabledAt))!);
  }

  private async changeKeys(
    actor: Actor,
    id: string,
    action: "identity.keys_revoked" | "identity.keys_disabled",
    values: (now: Date) => Partial<typeof apiKeys.$inferInsert>,
    which: SQL,
  ): Promise<{ identityId: string; count: number; keyIds: string[] }> {
    requireScope(actor, "write");
    const identity = await this.findVisible(actor, id);
    const now = this.deps.clock.now();
    const keyIds = await this.deps.db.transaction(async (tx) => {
      const changed = await tx
        .update(apiKeys)
        .set({ ...values(now), updatedAt: now })
        .where(and(eq(apiKeys.identityId, id), which))
        .returning({ id: apiKeys.id });
      const ids = changed.map((row) => row.id);
      await recordAudit(tx, actor, { action, targetType: "identity", targetId: id, details: { apiId: identity.apiId, externalId: identity.externalId, count: ids.length, keyIds: ids } }, now);
      return ids;
    });
    // One notification drops every cached key of the identity on every instance.
    await this.deps.events?.publish({ type: "identity.changed", identityId: id });
    return { identityId: id, count: keyIds.length, keyIds };
  }

  private async findVisible(actor: Actor, id: string): Promise<IdentityRow> {
    const [row] = await this.deps.db
      .select({ identity: identities, ownerId: apis.ownerId })
      .from(identities)
      .innerJoin(apis, eq(apis.id, identities.apiId))
      .where(eq(identities.id, id));
    if (!row || !mayAccess(actor, row.ownerId, row.identity.apiId)) throw notFound("Identity");
    return row.identity;
  }

  private async keyCounts(ids: string[]): Promise<Map<string, { total: number; live: number }>> {
    if (ids.length === 0) return new Map();
    const now = this.deps.clock.now();
    const rows = await this.deps.db
      .select({ identityId: apiKeys.identityId, total: count(), live: countLive(now) })
      .from(apiKeys)
      .where(inArray(apiKeys.identityId, ids))
      .groupBy(apiKeys.identityId);
    return new Map(rows.map((row) => [row.identityId!, { total: row.total, live: row.live }]));
  }
}

const duplicateExternalId = (externalId: string) =>
  new KeywardError("conflict", `This API already has an identity with externalId "${externalId}"`, { field: "externalId" });

function toView(row: IdentityRow, keyCount: { total: number; live: number } = { total: 0, live: 0 }): IdentityView {
  return {
    id: row.id,
    apiId: row.apiId,
    externalId: row.externalId,
    meta: row.metadata,
    ratelimits: row.ratelimits,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    keyCount,
  };
}
