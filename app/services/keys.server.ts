import type { z } from "zod";
import type { PgUpdateSetSource } from "drizzle-orm/pg-core";
import { and, arrayContains, asc, desc, eq, ilike, inArray, isNotNull, isNull, lte, gt, or, sql, type SQL } from "drizzle-orm";
import type { Database } from "../../db/client.server";
import { apiKeys, apis, identities, users, type CreditsRefill, type NamedRateLimit, type PermissionImplications, type RateLimit } from "../../db/schema";
import { currentCredits, type StoredCredits } from "../lib/credits";
import { afterCursor, encodeCursor, pageOf, type Page } from "../lib/cursor";
import { newId } from "../lib/ids";
import { displayParts, generateKey, isWellFormedKey, ROOT_KEY_PREFIX } from "../lib/key-format";
import { unknownGrants } from "../lib/permissions";
import { DATE_RANGE_MESSAGE, isWithinDateRange, LATEST_INSTANT } from "../lib/dates";
import { cidrContains, parseCidr } from "../lib/ip";
import type { CreateIssuedKeyInput, CreateKeyInput, CreditsInput, KeyKind, KeyStatus, ListKeysInput, UpdateKeyInput } from "../lib/key-schemas";
import { listKeysInput, MAX_GRACE_SECONDS, rateLimitWithin, REQUESTS_LIMIT_NAME } from "../lib/key-schemas";
import { effectiveScopes, grants, ROLE_SCOPES, type Role, type Scope } from "../lib/scopes";
import { actorScopes, actorUserId, mayAccess, requireScope, seesEveryone, type Actor, type KeyRestrictions } from "./actor.server";
import { accessConditions, ApiService, type ApiRow } from "./apis.server";
import { recordAudit } from "./audit.server";
import type { Clock } from "./clock.server";
import { addedCredits } from "./credits.server";
import { KeywardError, notFound } from "./errors.server";
import type { EventBus } from "./events.server";
import type { KeyViewCache } from "./key-view-cache.server";
import { candidateDigests, decryptKey, encryptKey, type DigestSecrets } from "./secrets.server";
import type { SecurityEventService } from "./security-events.server";

/** The public view of a key: everything but its digest and ciphertext. Timestamps are ISO 8601 UTC. */
export interface ApiKeyView {
  id: string;
  name: string;
  description: string;
  start: string;
  last4: string;
  ownerId: string;
  scopes: Scope[];
  allowedIps: string[];
  /** A root key's limit on Keyward's own API; for an issued key, its limit named "requests" if it has one. */
  rateLimit: RateLimit | null;
  /** An issued key's named limits, each applied by verification; empty for root keys. */
  ratelimits: NamedRateLimit[];
  status: KeyStatus;
  expiresAt: string | null;
  disabledAt: string | null;
  revokedAt: string | null;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  requestCount: number;
  metadata: Record<string, unknown>;
  recoverable: boolean;
  rotatedFrom: string | null;
  /** `root`: Keyward's own management credential; `issued`: a key of an API, only ever verified. */
  kind: KeyKind;
  /** The API an issued key belongs to; null for a root key. */
  apiId: string | null;
  /** The identity (customer) an issued key belongs to, if any. */
  identityId: string | null;
  /** An issued key's permissions; empty for a root key. */
  permissions: string[];
  /** The APIs a root key is restricted to; null = not restricted (and always null for issued keys). */
  apiIds: string[] | null;
  /**
   * An issued key's usage credits as they stand now (a refill that fell due counts already), and
   * when they next refill; null = unlimited (always null for root keys).
   */
  credits: { remaining: number; refill: CreditsRefill | null; nextRefillAt: string | null } | null;
}

/** Columns selected for every read that leaves this service: no digest, no ciphertext. */
const publicColumns = {
  id: apiKeys.id,
  name: apiKeys.name,
  description: apiKeys.description,
  start: apiKeys.start,
  last4: apiKeys.last4,
  ownerId: apiKeys.ownerId,
  scopes: apiKeys.scopes,
  allowedIps: apiKeys.allowedIps,
  rateLimit: apiKeys.rateLimit,
  ratelimits: apiKeys.ratelimits,
  expiresAt: apiKeys.expiresAt,
  disabledAt: apiKeys.disabledAt,
  revokedAt: apiKeys.revokedAt,
  createdAt: apiKeys.createdAt,
  updatedAt: apiKeys.updatedAt,
  lastUsedAt: apiKeys.lastUsedAt,
  lastUsedIp: apiKeys.lastUsedIp,
  requestCount: apiKeys.requestCount,
  metadata: apiKeys.metadata,
  recoverable: sql<boolean>`(${apiKeys.ciphertext} is not null)`.as("recoverable"),
  rotatedFrom: apiKeys.rotatedFrom,
  apiId: apiKeys.apiId,
  identityId: apiKeys.identityId,
  permissions: apiKeys.permissions,
  apiIds: apiKeys.rootApiIds,
  creditsRemaining: apiKeys.creditsRemaining,
  creditsRefill: apiKeys.creditsRefill,
  creditsRefilledAt: apiKeys.creditsRefilledAt,
  creditsKeyId: apiKeys.creditsKeyId,
  // A rotated key in its grace period shows the balance it spends: its successor's. (Qualified by
  // hand: drizzle leaves columns of a one-table query unqualified, and here that would mean p's.)
  sharedCredits: sql<SharedCredits | null>`(select json_build_object('creditsRemaining', p.credits_remaining, 'creditsRefill', p.credits_refill, 'creditsRefilledAt', p.credits_refilled_at) from api_keys p where p.id = "api_keys"."credits_key_id")`.as("shared_credits"),
};

/** The credits columns of the key a rotated key shares its balance with, as JSON gives them. */
type SharedCredits = { creditsRemaining: number | null; creditsRefill: CreditsRefill | null; creditsRefilledAt: string | null };

export type KeyRow = {
  [K in keyof typeof publicColumns]: K extends "recoverable" ? boolean : K extends "apiIds" ? string[] | null : K extends "sharedCredits" ? SharedCredits | null : (typeof apiKeys.$inferSelect)[Exclude<K, "recoverable" | "apiIds" | "sharedCredits">];
};

/** The balance a key spends: its own, or (a rotated key in its grace period) the one it shares with its successor. */
function creditsOf(row: KeyRow): StoredCredits {
  if (row.creditsKeyId === null) return row;
  const shared = row.sharedCredits;
  return {
    creditsRemaining: shared?.creditsRemaining ?? null,
    creditsRefill: shared?.creditsRefill ?? null,
    creditsRefilledAt: shared?.creditsRefilledAt ? new Date(shared.creditsRefilledAt) : null,
  };
}

export function keyStatus(row: Pick<KeyRow, "revokedAt" | "expiresAt" | "disabledAt">, now: Date): KeyStatus {
  if (row.revokedAt) return "revoked";
  if (row.expiresAt && row.expiresAt.getTime() <= now.getTime()) return "expired";
  if (row.disabledAt) return "disabled";
  return "active";
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

function toView(row: KeyRow, now: Date): ApiKeyView {
  const { creditsRemaining: _remaining, creditsRefill: _refill, creditsRefilledAt: _refilledAt, creditsKeyId: _creditsKeyId, sharedCredits: _shared, ...shown } = row;
  return {
    ...shown,
    rateLimit: row.apiId === null ? row.rateLimit : requestsLimitOf(row.ratelimits),
    description: row.description,
    status: keyStatus(row, now),
    expiresAt: iso(row.expiresAt),
    disabledAt: iso(row.disabledAt),
    revokedAt: iso(row.revokedAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    lastUsedAt: iso(row.lastUsedAt),
    recoverable: Boolean(row.recoverable),
    kind: row.apiId === null ? "root" : "issued",
    credits: currentCredits(creditsOf(row), now),
  };
}

/** An issued key's limit named "requests", in the shape of a root key's `rateLimit`. */
function requestsLimitOf(ratelimits: NamedRateLimit[]): RateLimit | null {
  const requests = ratelimits.find((limit) => limit.name === REQUESTS_LIMIT_NAME);
  return requests ? { requests: requests.limit, windowSeconds: requests.durationSeconds } : null;
}

/** `ratelimits` with the limit named "requests" set to `rateLimit` (null removes it), the others kept in order. */
function withRequestsLimit(ratelimits: NamedRateLimit[], rateLimit: RateLimit | null): NamedRateLimit[] {
  const requests = rateLimit && { name: REQUESTS_LIMIT_NAME, limit: rateLimit.requests, durationSeconds: rateLimit.windowSeconds };
  const at = ratelimits.findIndex((limit) => limit.name === REQUESTS_LIMIT_NAME);
  if (at === -1) return requests ? [...ratelimits, requests] : ratelimits;
  return requests ? ratelimits.with(at, requests) : ratelimits.filter((_, index) => index !== at);
}

function statusCondition(status: KeyStatus, now: Date): SQL {
  const notExpired = or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now))!;
  switch (status) {
    case "revoked":
      return isNotNull(apiKeys.revokedAt);
    case "expired":
      return and(isNull(apiKeys.revokedAt), lte(apiKeys.expiresAt, now))!;
    case "disabled":
      return and(isNull(apiKeys.revokedAt), notExpired, isNotNull(apiKeys.disabledAt))!;
    case "active":
      return and(isNull(apiKeys.revokedAt), notExpired, isNull(apiKeys.disabledAt))!;
  }
}

/** Result of looking a presented key up: a closed set of codes, mapped to HTTP at the edge. */
export type KeyAuthentication =
  | { code: "VALID"; key: AuthenticatedKey }
  | { code: "INVALID" }
  | { code: "REVOKED" | "DISABLED" | "EXPIRED"; key: AuthenticatedKey };

export interface AuthenticatedKey {
  id: string;
  name: string;
  ownerId: string;
  ownerRole: Role;
  ownerEmail: string;
  /** The key's scopes ∩ what its owner's role allows today. */
  scopes: Scope[];
  allowedIps: string[];
  rateLimit: RateLimit | null;
  /** An issued key's named limits, and those of its identity (shared by all the identity's keys). */
  ratelimits: NamedRateLimit[];
  identityRatelimits: NamedRateLimit[];
  expiresAt: string | null;
  metadata: Record<string, unknown>;
  /** The API of an issued key (null for a root key), and whether that API is archived. */
  apiId: string | null;
  apiArchived: boolean;
  /** An issued key's grants, and its API's implications to judge them with. */
  permissions: string[];
  implications: PermissionImplications;
  identity: { id: string; externalId: string; meta: Record<string, unknown> } | null;
  /** The APIs a root key is restricted to; null = not restricted. */
  rootApiIds: string[] | null;
  /** Whether the key has credits to charge (its balance is never cached: verification reads it as it charges). */
  hasCredits: boolean;
}

/** Fields whose before/after an update records (never secrets); `credits` is the balance and refill together. */
const AUDITED_FIELDS = ["name", "description", "scopes", "permissions", "allowedIps", "rateLimit", "ratelimits", "expiresAt", "metadata", "disabledAt"] as const;

/** What limits a key: a key acting on keys may not change these on itself. */
const RESTRICTION_FIELDS = ["scopes", "allowedIps", "rateLimit", "expiresAt"] as const;

/**
 * The query behind every verification-cache miss, prepared once: building and planning it were
 * most of its cost (p50 0.67 → 0.22 ms on Postgres, scripts/bench/verify.ts).
 */
function prepareDigestLookup(db: Database) {
  return db
    .select({
      id: apiKeys.id,
      name: apiKeys.name,
      ownerId: apiKeys.ownerId,
      ownerRole: users.role,
      ownerEmail: users.email,
      ownerDisabledAt: users.disabledAt,
      scopes: apiKeys.scopes,
      allowedIps: apiKeys.allowedIps,
      rateLimit: apiKeys.rateLimit,
      ratelimits: apiKeys.ratelimits,
      expiresAt: apiKeys.expiresAt,
      disabledAt: apiKeys.disabledAt,
      revokedAt: apiKeys.revokedAt,
      metadata: apiKeys.metadata,
      digest: apiKeys.digest,
      digestVersion: apiKeys.digestVersion,
      apiId: apiKeys.apiId,
      apiArchivedAt: apis.archivedAt,
      permissions: apiKeys.permissions,
      implications: apis.implications,
      identityId: identities.id,
      identityExternalId: identities.externalId,
      identityMeta: identities.metadata,
      identityRatelimits: identities.ratelimits,
      rootApiIds: apiKeys.rootApiIds,
      hasCredits: sql<boolean>`(${apiKeys.creditsRemaining} is not null or ${apiKeys.creditsKeyId} is not null)`,
    })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.ownerId))
    .leftJoin(apis, eq(apis.id, apiKeys.apiId))
    .leftJoin(identities, eq(identities.id, apiKeys.identityId))
    .where(sql`${apiKeys.digest} = any(${sql.placeholder("digests")})`)
    .limit(1)
    .prepare("keyward_key_by_digest");
}

export interface KeyServiceDeps {
  db: Database;
  clock: Clock;
  secrets: DigestSecrets;
  encryptionKey: Buffer;
  /** Longest lifetime a key may have, in days; undefined = "never expires" allowed. */
  maxTtlDays?: number;
  /** The limit of a key whose rateLimit is null (KEYWARD_DEFAULT_RATE_LIMIT). */
  defaultRateLimit: RateLimit;
  /** The loosest rate limit any key may be given (KEYWARD_MAX_RATE_LIMIT); undefined = the schema's bounds only. */
  maxRateLimit?: RateLimit;
  events?: Pick<EventBus, "publish">;
  /** Told about every reveal of a recoverable key (alerts can fire on it). */
  securityEvents?: Pick<SecurityEventService, "record">;
  /** The APIs issued keys belong to; by default a service of its own on the same database. */
  apis?: Pick<ApiService, "findOpen" | "findVisible">;
  /** Root keys' rows for `own` (GET /api/v1/me); without it, `own` reads the database every time. */
  viewCache?: KeyViewCache<KeyRow>;
}

/** The query behind one page of the keys list (one row more than the page, to tell whether another follows); exported so a test can check its plan. */
export function listKeysQuery(db: Database, actor: Actor, input: z.output<typeof listKeysInput>, now: Date) {
  const conditions: SQL[] = keyVisibility(actor);
  if (input.ownerId) conditions.push(eq(apiKeys.ownerId, input.ownerId));
  if (input.kind) conditions.push(input.kind === "root" ? isNull(apiKeys.apiId) : isNotNull(apiKeys.apiId));
  if (input.apiId) conditions.push(eq(apiKeys.apiId, input.apiId));
  if (input.identityId) conditions.push(eq(apiKeys.identityId, input.identityId));
  if (input.externalId) {
    const named = and(eq(identities.externalId, input.externalId), input.apiId ? eq(identities.apiId, input.apiId) : undefined);
    conditions.push(inArray(apiKeys.identityId, db.select({ id: identities.id }).from(identities).where(named)));
  }
  if (input.status !== "all") conditions.push(statusCondition(input.status, now));
  if (input.q) conditions.push(ilike(apiKeys.name, `%${input.q.replace(/[\\%_]/g, "\\$&")}%`));
  if (input.scope) conditions.push(arrayContains(apiKeys.scopes, [input.scope]));
  const newest = input.order === "newest";
  if (input.cursor) conditions.push(afterCursor(input.cursor, "string", apiKeys.createdAt, apiKeys.id, newest ? "desc" : "asc"));
  const direction = newest ? desc : asc;
  return db
    .select(publicColumns)
    .from(apiKeys)
    .where(and(...conditions))
    .orderBy(direction(apiKeys.createdAt), direction(apiKeys.id))
    .limit(input.limit + 1);
}

/** The keys an actor may see: its owner's (all, for admins), and only its APIs' keys for a root key restricted to some. */
const keyVisibility = (actor: Actor): SQL[] => accessConditions(actor, { owner: apiKeys.ownerId, api: apiKeys.apiId });

export class KeyService {
  private digestLookup?: ReturnType<typeof prepareDigestLookup>;
  private readonly apis: Pick<ApiService, "findOpen" | "findVisible">;

  constructor(private readonly deps: KeyServiceDeps) {
    this.apis = deps.apis ?? new ApiService(deps);
  }

  /** Creates a key; the plaintext is returned here and nowhere else, ever. */
  async create(actor: Actor, input: CreateKeyInput): Promise<{ key: string; apiKey: ApiKeyView }> {
    requireScope(actor, "write");
    const now = this.deps.clock.now();
    const ownerId = input.ownerId ?? actorUserId(actor);
    if (!ownerId) throw new KeywardError("validation_failed", "ownerId is required", { field: "ownerId" });
    if (ownerId !== actorUserId(actor) && !seesEveryone(actor)) {
      throw new KeywardError("insufficient_scope", "Only admins create keys for other users", { required: "admin" });
    }
    const owner = await this.findOwner(ownerId);
    this.assertScopesGrantable(actor, owner.role, input.scopes);
    const expiresAt = this.resolveExpiry(now, input.expiresAt, input.expiresInDays);
    this.assertRateLimitAllowed(input.rateLimit);
    const apiIds = input.apiIds ? [...new Set(input.apiIds)] : null;
    this.assertWithinActingKey(actor, { allowedIps: input.allowedIps ?? [], rateLimit: input.rateLimit ?? null, expiresAt, apiIds });
    // A root key restricted to APIs names APIs its owner can see.
    for (const apiId of apiIds ?? []) {
      const api = await this.apis.findVisible(actor, apiId).catch(() => null);
      if (!api || (api.ownerId !== ownerId && owner.role !== "admin")) {
        throw new KeywardError("validation_failed", `No API ${apiId} that this key's owner can see`, { field: "apiIds" });
      }
    }

    const id = newId("key");
    const key = generateKey();
    const [{ digest, version }] = candidateDigests(key, this.deps.secrets) as [{ digest: string; version: number }];
    const row = await this.deps.db.transaction(async (tx) => {
      const [inserted] = await tx
        .insert(apiKeys)
        .values({
          id,
          ownerId,
          name: input.name,
          description: input.description ?? "",
          ...displayParts(key),
          digest,
          digestVersion: version,
          ciphertext: input.recoverable ? encryptKey(key, id, this.deps.encryptionKey) : null,
          scopes: normalizeScopes(input.scopes),
          allowedIps: input.allowedIps ?? [],
          rateLimit: input.rateLimit ?? null,
          expiresAt,
          createdBy: actorUserId(actor),
          metadata: input.metadata ?? {},
          rootApiIds: apiIds,
          createdAt: now,
          updatedAt: now,
        })
        .returning(publicColumns);
      await recordAudit(tx, actor, { action: "key.created", targetType: "api_key", targetId: id, details: { name: input.name, ownerId, scopes: input.scopes, recoverable: Boolean(input.recoverable), ...(apiIds && { apiIds }) } }, now);
      return inserted!;
    });
    return { key, apiKey: toView(row, now) };
  }

  /**
   * Issues a key of an API, for one of its customers: `<prefix>_…`, the API's defaults for what
   * the input leaves out, permissions from its vocabulary, and the identity named by `externalId`
   * (created on first use) or `identityId`. Issued keys are owned by the API's owner and never
   * authenticate to Keyward itself, so the acting key's own restrictions do not bound them.
   */
  async createIssued(actor: Actor, apiId: string, input: CreateIssuedKeyInput): Promise<{ key: string; apiKey: ApiKeyView }> {
    requireScope(actor, "write");
    const now = this.deps.clock.now();
    const api = await this.apis.findOpen(actor, apiId);
    await this.findOwner(api.ownerId);
    const permissions = input.permissions ?? [];
    assertGrantsKnown(api, permissions);
    const defaults = api.defaults;
    const expiresInDays = input.expiresAt === undefined ? (input.expiresInDays ?? defaults.expiresInDays) : undefined;
    const expiresAt = this.resolveExpiry(now, input.expiresAt, expiresInDays, defaults.maxTtlDays);
    const rateLimit = input.rateLimit === undefined ? (defaults.rateLimit ?? null) : input.rateLimit;
    const ratelimits = input.ratelimits ?? withRequestsLimit([], rateLimit);
    assertNamedLimitsAllowed(ratelimits, this.deps.maxRateLimit, input.ratelimits === undefined ? "rateLimit" : "ratelimits");
    const recoverable = input.recoverable ?? defaults.recoverable ?? false;

    const id = newId("key");
    const key = generateKey(api.prefix);
    const [{ digest, version }] = candidateDigests(key, this.deps.secrets) as [{ digest: string; version: number }];
    const row = await this.deps.db.transaction(async (tx) => {
      const identityId = await this.resolveIdentity(tx, actor, api, input, now);
      const [inserted] = await tx
        .insert(apiKeys)
        .values({
          id,
          ownerId: api.ownerId,
          apiId: api.id,
          identityId,
          name: input.name ?? input.externalId ?? `${api.name} key`,
          description: input.description ?? "",
          ...displayParts(key),
          digest,
          digestVersion: version,
          ciphertext: recoverable ? encryptKey(key, id, this.deps.encryptionKey) : null,
          scopes: [],
          permissions,
          allowedIps: input.allowedIps ?? defaults.allowedIps ?? [],
          rateLimit: null,
          ratelimits,
          expiresAt,
          createdBy: actorUserId(actor),
          metadata: input.meta ?? {},
          ...storedCredits(input.credits ?? null, now),
          createdAt: now,
          updatedAt: now,
        })
        .returning(publicColumns);
      await recordAudit(tx, actor, { action: "key.created", targetType: "api_key", targetId: id, details: { name: inserted!.name, apiId: api.id, identityId, permissions, recoverable, ...(ratelimits.length > 0 && { ratelimits }), ...(input.credits && { credits: input.credits }) } }, now);
      return inserted!;
    });
    return { key, apiKey: toView(row, now) };
  }

  /** The identity a new key belongs to: the one named by id (of this API), or by externalId, created if new. */
  private async resolveIdentity(tx: Pick<Database, "select" | "insert">, actor: Actor, api: ApiRow, input: CreateIssuedKeyInput, now: Date): Promise<string | null> {
    if (input.identityId) {
      const [found] = await tx.select({ id: identities.id }).from(identities).where(and(eq(identities.id, input.identityId), eq(identities.apiId, api.id)));
      if (!found) throw new KeywardError("validation_failed", "No identity with this id in this API", { field: "identityId" });
      return found.id;
    }
    if (input.externalId === undefined) return null;
    const id = newId("idt");
    // Two keys for a new customer at once: one insert wins, the other finds its row.
    const [created] = await tx
      .insert(identities)
      .values({ id, apiId: api.id, externalId: input.externalId, createdAt: now, updatedAt: now })
      .onConflictDoNothing({ target: [identities.apiId, identities.externalId] })
      .returning({ id: identities.id });
    if (created) {
      await recordAudit(tx, actor, { action: "identity.created", targetType: "identity", targetId: id, details: { apiId: api.id, externalId: input.externalId, implicit: true } }, now);
      return created.id;
    }
    const [existing] = await tx.select({ id: identities.id }).from(identities).where(and(eq(identities.apiId, api.id), eq(identities.externalId, input.externalId)));
    return existing!.id;
  }

  async list(actor: Actor, rawInput: ListKeysInput = {}): Promise<Page<ApiKeyView>> {
    requireScope(actor, "read");
    const input = listKeysInput.parse(rawInput);
    const now = this.deps.clock.now();
    const rows = await listKeysQuery(this.deps.db, actor, input, now);
    const page = rows.slice(0, input.limit);
    return pageOf(
      page.map((row) => toView(row, now)),
      rows.length > input.limit ? encodeCursor(page.at(-1)!.createdAt, page.at(-1)!.id) : null,
    );
  }

  /** A key the actor may see; another owner's key is "not found" to a non-admin, never "forbidden". */
  async get(actor: Actor, id: string): Promise<ApiKeyView> {
    requireScope(actor, "read");
    return toView(await this.findVisible(actor, id), this.deps.clock.now());
  }

  /**
   * The calling key's own view (GET /api/v1/me): from the view cache while no change or usage
   * flush has touched the key since it was read, so an authenticated request whose key is cached
   * reads nothing from the database. Status and credits are derived at the moment of the call.
   */
  async own(actor: Actor): Promise<ApiKeyView> {
    requireScope(actor, "read");
    if (actor.kind !== "user" || actor.keyId === undefined) throw notFound("Key");
    const cache = this.deps.viewCache;
    let row = cache?.get(actor.keyId);
    if (!row) {
      const ticket = cache?.ticket() ?? 0;
      row = await this.findVisible(actor, actor.keyId);
      // Only root keys: an issued key's view can show the balance of another row (its successor's).
      if (row.apiId === null) cache?.set(row, ticket);
    }
    return toView(row, this.deps.clock.now());
  }

  /**
   * The API and identity of each of `ids` that is an issued key the actor may see (one query);
   * ids it may not see, root keys and unknown ids are simply absent.
   */
  async issuedOwnership(actor: Actor, ids: readonly string[]): Promise<Map<string, { apiId: string; identityId: string | null }>> {
    requireScope(actor, "read");
    const rows = await this.deps.db
      .select({ id: apiKeys.id, apiId: apiKeys.apiId, identityId: apiKeys.identityId })
      .from(apiKeys)
      .where(and(inArray(apiKeys.id, [...ids]), isNotNull(apiKeys.apiId), ...keyVisibility(actor)));
    return new Map(rows.map(({ id, apiId, identityId }) => [id, { apiId: apiId!, identityId }]));
  }

  async update(actor: Actor, id: string, patch: UpdateKeyInput): Promise<ApiKeyView> {
    const now = this.deps.clock.now();
    return this.change(actor, id, "key.updated", async (current) => {
      if (current.revokedAt) throw new KeywardError("invalid_state", "A revoked key cannot be changed");
      if (patch.scopes && current.apiId !== null) {
        throw new KeywardError("validation_failed", "An issued key has permissions, not scopes; scopes belong to root keys", { field: "scopes" });
      }
      if (patch.permissions && current.apiId === null) {
        throw new KeywardError("validation_failed", "A root key has scopes, not permissions; permissions belong to keys issued for an API", { field: "permissions" });
      }
      if (patch.ratelimits && current.apiId === null) {
        throw new KeywardError("validation_failed", "A root key has one rateLimit; named ratelimits belong to keys issued for an API", { field: "ratelimits" });
      }
      if ((patch.credits !== undefined || patch.addCredits !== undefined) && current.apiId === null) {
        throw new KeywardError("validation_failed", "A root key has no credits; credits belong to keys issued for an API", { field: patch.credits !== undefined ? "credits" : "addCredits" });
      }
      if ((patch.credits !== undefined || patch.addCredits !== undefined) && current.creditsKeyId !== null) {
        throw new KeywardError("invalid_state", `This key was rotated and spends the credits of its successor ${current.creditsKeyId} until it expires; change them there`, { field: patch.credits !== undefined ? "credits" : "addCredits" });
      }
      if (patch.addCredits !== undefined && current.creditsRemaining === null) {
        throw new KeywardError("validation_failed", "This key has unlimited credits: set credits before adding to them", { field: "addCredits" });
      }
      if (patch.permissions) assertGrantsKnown(await this.apis.findVisible(actor, current.apiId!), patch.permissions);
      if (patch.scopes) {
        const owner = await this.findOwner(current.ownerId);
        this.assertScopesGrantable(actor, owner.role, patch.scopes);
      }
      const values: KeyChange = {};
      if (patch.name !== undefined) values.name = patch.name;
      if (patch.description !== undefined) values.description = patch.description;
      if (patch.scopes !== undefined) values.scopes = normalizeScopes(patch.scopes);
      if (patch.permissions !== undefined) values.permissions = patch.permissions;
      if (patch.allowedIps !== undefined) values.allowedIps = patch.allowedIps;
      // An issued key's rateLimit is shorthand for its limit named "requests".
      if (patch.rateLimit !== undefined && current.apiId === null) values.rateLimit = patch.rateLimit;
      const ratelimits = patch.ratelimits ?? (patch.rateLimit !== undefined && current.apiId !== null ? withRequestsLimit(current.ratelimits, patch.rateLimit) : undefined);
      if (ratelimits !== undefined) values.ratelimits = ratelimits;
      if (patch.metadata !== undefined) values.metadata = patch.metadata;
      if (patch.expiresAt !== undefined) values.expiresAt = this.resolveExpiry(now, patch.expiresAt, undefined, (await this.apiOf(actor, current))?.defaults.maxTtlDays);
      if (patch.disabled !== undefined) values.disabledAt = patch.disabled ? (current.disabledAt ?? now) : null;
      if (patch.credits !== undefined) Object.assign(values, storedCredits(patch.credits, now));
      // Added in the UPDATE itself, to the balance as it is then: a verification charging meanwhile is not lost.
      if (patch.addCredits !== undefined) Object.assign(values, addedCredits(patch.addCredits, now));
      if (current.apiId === null) this.assertRateLimitAllowed(patch.rateLimit);
      else if (ratelimits) assertNamedLimitsAllowed(ratelimits, this.deps.maxRateLimit, patch.ratelimits === undefined ? "rateLimit" : "ratelimits");
      const after = { ...current, ...values } as KeyRow;
      if (current.apiId !== null) {
        // An issued key never acts on Keyward: its settings limit its customer, not a manager.
      } else if (actor.kind === "user" && actor.keyId === id) {
        if (RESTRICTION_FIELDS.some((field) => JSON.stringify(after[field]) !== JSON.stringify(current[field]))) {
          throw selfModification("change its own scopes, allowlist, rate limit or expiry");
        }
      } else {
        this.assertWithinActingKey(actor, after);
      }
      return values;
    });
  }

  disable(actor: Actor, id: string): Promise<ApiKeyView> {
    return this.change(actor, id, "key.disabled", async (current) => {
      if (current.revokedAt) throw new KeywardError("invalid_state", "A revoked key cannot be disabled");
      return current.disabledAt ? null : { disabledAt: this.deps.clock.now() };
    });
  }

  enable(actor: Actor, id: string): Promise<ApiKeyView> {
    return this.change(actor, id, "key.enabled", async (current) => {
      if (current.revokedAt) throw new KeywardError("invalid_state", "A revoked key cannot be enabled again; create a new key");
      return current.disabledAt ? { disabledAt: null } : null;
    });
  }

  /** Final and idempotent: revoking a revoked key changes nothing and succeeds. */
  revoke(actor: Actor, id: string): Promise<ApiKeyView> {
    return this.change(actor, id, "key.revoked", async (current) =>
      current.revokedAt ? null : { revokedAt: this.deps.clock.now(), revokedBy: actorUserId(actor) },
    );
  }

  /**
   * Issues a new key with the same settings (and the same lifetime length, if it had one);
   * the old key keeps working until now + grace period. A key is rotated once: rotations of one key
   * queue on its row lock, and every one after the first finds the successor and is refused.
   */
  async rotate(
    actor: Actor,
    id: string,
    { gracePeriodSeconds = 0 }: { gracePeriodSeconds?: number } = {},
  ): Promise<{ key: string; apiKey: ApiKeyView; previous: ApiKeyView }> {
    if (!Number.isInteger(gracePeriodSeconds) || gracePeriodSeconds < 0 || gracePeriodSeconds > MAX_GRACE_SECONDS) {
      throw new KeywardError("validation_failed", `gracePeriodSeconds must be 0–${MAX_GRACE_SECONDS}`, { field: "gracePeriodSeconds" });
    }
    requireScope(actor, "write");
    const now = this.deps.clock.now();
    const visible = await this.findVisible(actor, id);
    if (visible.revokedAt) throw new KeywardError("invalid_state", "A revoked key cannot be rotated");
    if (actor.kind === "user" && actor.keyId === id) throw selfModification("rotate itself");
    const owner = await this.findOwner(visible.ownerId);
    const api = visible.apiId === null ? null : await this.apis.findOpen(actor, visible.apiId);

    const newId_ = newId("key");
    const key = generateKey(api?.prefix ?? ROOT_KEY_PREFIX);
    const [{ digest, version }] = candidateDigests(key, this.deps.secrets) as [{ digest: string; version: number }];
    const { created, previous } = await this.deps.db.transaction(async (tx) => {
      // Decided on the locked row: a rotation that waited here sees what the one before it wrote.
      const [old] = await tx.select(publicColumns).from(apiKeys).where(eq(apiKeys.id, id)).for("update");
      if (!old) throw notFound("Key");
      if (old.revokedAt) throw new KeywardError("invalid_state", "The key was revoked while it was being rotated");
      this.assertScopesGrantable(actor, owner.role, old.scopes);
      this.assertRateLimitAllowed(old.rateLimit);
      assertNamedLimitsAllowed(old.ratelimits, this.deps.maxRateLimit, "ratelimits");
      this.assertMayTouch(actor, old);
      const [successor] = await tx.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.rotatedFrom, id)).limit(1);
      if (successor) {
        throw new KeywardError("conflict", `This key was already rotated (to ${successor.id}); rotate the new key instead`, { successorId: successor.id });
      }

      const graceEnd = new Date(now.getTime() + gracePeriodSeconds * 1000);
      const previousExpiry = old.expiresAt && old.expiresAt < graceEnd ? old.expiresAt : graceEnd;
      const lifetimeMs = old.expiresAt ? Math.max(old.expiresAt.getTime() - old.createdAt.getTime(), 0) : null;
      const apiMaxTtl = api?.defaults.maxTtlDays;
      const lifetimeEnd = lifetimeMs === null ? this.resolveExpiry(now, null, undefined, apiMaxTtl) : this.capToPolicy(now, new Date(now.getTime() + lifetimeMs), apiMaxTtl);
      // A successor never outlives the accepted date range, nor (a root key) the key that rotated it in.
      const inRange = lifetimeEnd && lifetimeEnd > LATEST_INSTANT ? LATEST_INSTANT : lifetimeEnd;
      const newExpiry = api ? inRange : earliest(inRange, actor.kind === "user" ? (actor.restrictions?.expiresAt ?? null) : null);

      const [created] = await tx
        .insert(apiKeys)
        .values({
          id: newId_,
          ownerId: old.ownerId,
          name: old.name,
          description: old.description,
          ...displayParts(key),
          digest,
          digestVersion: version,
          ciphertext: old.recoverable ? encryptKey(key, newId_, this.deps.encryptionKey) : null,
          scopes: old.scopes,
          allowedIps: old.allowedIps,
          rateLimit: old.rateLimit,
          ratelimits: old.ratelimits,
          expiresAt: newExpiry,
          disabledAt: old.disabledAt,
          rotatedFrom: old.id,
          createdBy: actorUserId(actor),
          metadata: old.metadata,
          apiId: old.apiId,
          identityId: old.identityId,
          permissions: old.permissions,
          rootApiIds: old.apiIds,
          // The successor carries the balance on (the old key then spends it from here).
          creditsRemaining: old.creditsRemaining,
          creditsRefill: old.creditsRefill,
          creditsRefilledAt: old.creditsRefilledAt,
          createdAt: now,
          updatedAt: now,
        })
        .returning(publicColumns);
      // The balance moves to the successor and the old key spends it from there until its grace
      // ends, as do keys in grace that spent the old key's: a rotation never mints credits.
      const sharesCredits = old.creditsRemaining !== null;
      if (sharesCredits) await tx.update(apiKeys).set({ creditsKeyId: newId_ }).where(eq(apiKeys.creditsKeyId, id));
      const [previous] = await tx
        .update(apiKeys)
        .set({ expiresAt: previousExpiry, updatedAt: now, ...(sharesCredits && { creditsKeyId: newId_, creditsRemaining: null, creditsRefill: null, creditsRefilledAt: null }) })
        .where(eq(apiKeys.id, id))
        .returning(publicColumns);
      await recordAudit(tx, actor, { action: "key.rotated", targetType: "api_key", targetId: id, details: { newKeyId: newId_, gracePeriodSeconds, previousExpiresAt: previousExpiry.toISOString(), ...(sharesCredits && { creditsSharedWith: newId_ }) } }, now);
      return { created: created!, previous: previous! };
    });
    await this.publishChange(id);
    return { key, apiKey: toView(created, now), previous: toView(previous, now) };
  }

  /** Decrypts a recoverable key's copy. Admins only; every reveal is audited. */
  async reveal(actor: Actor, id: string): Promise<{ key: string }> {
    if (!seesEveryone(actor)) throw new KeywardError("insufficient_scope", "Revealing a key needs the admin scope", { required: "admin" });
    const now = this.deps.clock.now();
    const row = await this.findVisible(actor, id);
    if (row.revokedAt) throw new KeywardError("invalid_state", "A revoked key cannot be revealed");
    // A plaintext is the key itself: revealing a less restricted one would hand its restrictions out.
    this.assertMayTouch(actor, row);
    const [stored] = await this.deps.db.select({ ciphertext: apiKeys.ciphertext }).from(apiKeys).where(eq(apiKeys.id, id));
    if (!stored?.ciphertext) throw new KeywardError("not_recoverable", "This key was not created as recoverable; its plaintext was never kept");
    const key = decryptKey(stored.ciphertext, id, this.deps.encryptionKey);
    await recordAudit(this.deps.db, actor, { action: "key.revealed", targetType: "api_key", targetId: id }, now);
    this.deps.securityEvents?.record({
      kind: "key_revealed",
      severity: "warning",
      aggregate: false,
      keyId: id,
      clientIp: actor.meta?.ip ?? null,
      details: { revealedBy: actorUserId(actor) ?? (actor.kind === "system" ? `system:${actor.label}` : null), viaKeyId: actor.kind === "user" ? (actor.keyId ?? null) : null },
    });
    return { key };
  }

  /**
   * Looks a presented key up: format and checksum first (no I/O), then one indexed query
   * over the digests under the current and previous secrets.
   */
  async authenticate(presented: string): Promise<KeyAuthentication> {
    if (!isWellFormedKey(presented)) return { code: "INVALID" };
    const digests = candidateDigests(presented, this.deps.secrets);
    this.digestLookup ??= prepareDigestLookup(this.deps.db);
    const [row] = await this.digestLookup.execute({ digests: digests.map((d) => d.digest) });
    if (!row || !digests.some((d) => d.digest === row.digest && d.version === row.digestVersion)) return { code: "INVALID" };
    const key: AuthenticatedKey = {
      id: row.id,
      name: row.name,
      ownerId: row.ownerId,
      ownerRole: row.ownerRole,
      ownerEmail: row.ownerEmail,
      scopes: effectiveScopes(row.scopes, row.ownerRole),
      allowedIps: row.allowedIps,
      rateLimit: row.rateLimit,
      ratelimits: row.ratelimits,
      identityRatelimits: row.identityRatelimits ?? [],
      expiresAt: iso(row.expiresAt),
      metadata: row.metadata,
      apiId: row.apiId,
      apiArchived: row.apiArchivedAt !== null,
      permissions: row.permissions,
      implications: row.implications ?? {},
      identity: row.identityId === null ? null : { id: row.identityId, externalId: row.identityExternalId!, meta: row.identityMeta ?? {} },
      rootApiIds: row.rootApiIds,
      hasCredits: Boolean(row.hasCredits),
    };
    const status = keyStatus(row, this.deps.clock.now());
    if (status === "revoked") return { code: "REVOKED", key };
    if (status === "expired") return { code: "EXPIRED", key };
    // A disabled owner's keys stop working with the owner.
    if (status === "disabled" || row.ownerDisabledAt) return { code: "DISABLED", key };
    return { code: "VALID", key };
  }

  /** Loads the key, lets `decide` compute the change (null = nothing to change), writes it and its audit entry together. */
  private async change(
    actor: Actor,
    id: string,
    action: string,
    decide: (current: KeyRow) => Promise<KeyChange | null>,
  ): Promise<ApiKeyView> {
    requireScope(actor, "write");
    const current = await this.findVisible(actor, id);
    // Nobody edits, disables or revokes a key that holds more than they do (a write key cannot touch an admin key).
    this.assertScopesGrantable(actor, null, current.scopes);
    this.assertMayTouch(actor, current);
    const values = await decide(current);
    const now = this.deps.clock.now();
    if (!values) return toView(current, now);
    const updated = await this.deps.db.transaction(async (tx) => {
      const [row] = await tx
        .update(apiKeys)
        .set({ ...values, updatedAt: now })
        // Revocation is final: no write lands on a key revoked after it was read.
        .where(action === "key.revoked" ? eq(apiKeys.id, id) : and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
        .returning(publicColumns);
      if (!row) throw new KeywardError("invalid_state", "The key was revoked while it was being changed");
      await recordAudit(tx, actor, { action, targetType: "api_key", targetId: id, details: diff(current, row, now) }, now);
      return row;
    });
    await this.publishChange(id);
    return toView(updated, now);
  }

  private async publishChange(keyId: string): Promise<void> {
    await this.deps.events?.publish({ type: "key.changed", keyId });
  }

  private async findVisible(actor: Actor, id: string): Promise<KeyRow> {
    const [row] = await this.deps.db.select(publicColumns).from(apiKeys).where(eq(apiKeys.id, id));
    if (!row || !mayAccess(actor, row.ownerId, row.apiId)) throw notFound("Key");
    return row;
  }

  /** An issued key's API (null for a root key). */
  private async apiOf(actor: Actor, key: KeyRow): Promise<ApiRow | null> {
    return key.apiId === null ? null : this.apis.findVisible(actor, key.apiId);
  }

  private async findOwner(ownerId: string): Promise<{ id: string; role: Role }> {
    const [owner] = await this.deps.db
      .select({ id: users.id, role: users.role, disabledAt: users.disabledAt })
      .from(users)
      .where(eq(users.id, ownerId));
    if (!owner) throw notFound("Owner");
    if (owner.disabledAt) throw new KeywardError("invalid_state", "The owner is disabled; enable the user before giving them keys");
    return owner;
  }

  /** A key never holds more than its owner's role allows, nor more than the actor granting it holds. */
  private assertScopesGrantable(actor: Actor, ownerRole: Role | null, scopes: readonly Scope[]): void {
    for (const scope of scopes) {
      if (!grants(actorScopes(actor), scope)) {
        throw new KeywardError("insufficient_scope", `You cannot grant the "${scope}" scope: you do not hold it`, { required: scope });
      }
      if (ownerRole && !ROLE_SCOPES[ownerRole].includes(scope)) {
        throw new KeywardError("insufficient_scope", `The owner's role (${ownerRole}) does not allow the "${scope}" scope`, { required: scope });
      }
    }
  }

  /**
   * The rule for a key acting on keys: every key it creates or changes ends no less restricted than
   * itself (scopes are assertScopesGrantable's). Sessions and the system are bound by policy only.
   */
  private assertWithinActingKey(actor: Actor, key: KeyRestrictions): void {
    if (actor.kind !== "user" || !actor.restrictions) return;
    const wider = lessRestricted(key, actor.restrictions, this.deps.defaultRateLimit);
    if (wider) throw new KeywardError("forbidden", `${wider.message}: a key cannot give a key more than its own restrictions allow`, { field: wider.field });
  }

  /** A key acts only on keys already within its restrictions (itself included), as it acts only on keys within its scopes. */
  private assertMayTouch(actor: Actor, current: KeyRow): void {
    if (actor.kind === "user" && actor.keyId !== current.id && current.apiId === null) this.assertWithinActingKey(actor, current);
  }

  private assertRateLimitAllowed(rateLimit: RateLimit | null | undefined): void {
    const max = this.deps.maxRateLimit;
    if (rateLimit && max && !rateLimitWithin(rateLimit, max)) {
      throw new KeywardError("policy_violation", `rateLimit may be at most ${formatRateLimit(max)} on this instance (KEYWARD_MAX_RATE_LIMIT)`, { field: "rateLimit" });
    }
  }

  /** `apiMaxTtlDays`: an issued key's API may bound lifetimes tighter than the instance does. */
  private resolveExpiry(now: Date, expiresAt: string | null | undefined, expiresInDays: number | undefined, apiMaxTtlDays?: number): Date | null {
    if (expiresInDays !== undefined) return this.capToPolicy(now, new Date(now.getTime() + expiresInDays * 86_400_000), apiMaxTtlDays);
    if (expiresAt) {
      const date = new Date(expiresAt);
      if (!isWithinDateRange(date)) throw new KeywardError("validation_failed", `expiresAt: ${DATE_RANGE_MESSAGE}`, { field: "expiresAt" });
      if (date.getTime() <= now.getTime()) throw new KeywardError("validation_failed", "expiresAt must be in the future", { field: "expiresAt" });
      return this.capToPolicy(now, date, apiMaxTtlDays);
    }
    const { days, source } = this.ttlPolicy(apiMaxTtlDays);
    if (days !== undefined) throw new KeywardError("policy_violation", `Keys must expire within ${days} days (${source})`, { field: "expiresAt" });
    return null;
  }

  private capToPolicy(now: Date, expiry: Date, apiMaxTtlDays?: number): Date {
    const { days, source } = this.ttlPolicy(apiMaxTtlDays);
    if (days !== undefined && expiry.getTime() > now.getTime() + days * 86_400_000) {
      throw new KeywardError("policy_violation", `Keys must expire within ${days} days (${source})`, { field: "expiresAt" });
    }
    return expiry;
  }

  /** The tighter of the instance's longest key lifetime and the API's, and who set it. */
  private ttlPolicy(apiMaxTtlDays: number | undefined): { days: number | undefined; source: string } {
    const instance = this.deps.maxTtlDays;
    if (apiMaxTtlDays !== undefined && (instance === undefined || apiMaxTtlDays < instance)) return { days: apiMaxTtlDays, source: "the API's maxTtlDays" };
    return { days: instance, source: "KEYWARD_MAX_KEY_TTL_DAYS" };
  }
}

const selfModification = (what: string) =>
  new KeywardError("self_modification_forbidden", `A key cannot ${what}; use a dashboard session or another key at least as restricted as this one`);

/** The earlier of two expiries, null meaning never. */
const earliest = (a: Date | null, b: Date | null): Date | null => (a === null ? b : b === null || a <= b ? a : b);

const formatRateLimit = (limit: RateLimit) => `${limit.requests} requests per ${limit.windowSeconds} s`;

/**
 * KEYWARD_MAX_RATE_LIMIT for named limits (of an issued key or an identity): each limit on its own
 * must lie within the bound, by the same rule as a root key's single limit (no more requests per
 * window, nor per second), because a verification may name any one of them and apply it alone
 * (docs/decisions/0020-named-rate-limits.md). `field` is the input the limits came from: `rateLimit`
 * for the shorthand, so the refusal points where a root key's would.
 */
export function assertNamedLimitsAllowed(ratelimits: readonly NamedRateLimit[], max: RateLimit | undefined, field: "rateLimit" | "ratelimits" = "ratelimits"): void {
  if (!max) return;
  const looser = ratelimits.find((limit) => !rateLimitWithin({ requests: limit.limit, windowSeconds: limit.durationSeconds }, max));
  if (looser) {
    const label = field === "rateLimit" ? "rateLimit" : `Rate limit "${looser.name}" (${looser.limit} requests per ${looser.durationSeconds} s)`;
    throw new KeywardError("policy_violation", `${label} may be at most ${formatRateLimit(max)} on this instance (KEYWARD_MAX_RATE_LIMIT)`, { field });
  }
}

/** Whether `inner` (a CIDR) lies wholly inside `outer`. */
function cidrWithin(inner: string, outer: string): boolean {
  const a = parseCidr(inner);
  const b = parseCidr(outer);
  return a.ok && b.ok && a.cidr.version === b.cidr.version && a.cidr.prefix >= b.cidr.prefix && cidrContains(b.cidr, a.cidr);
}

/**
 * The first way `key` is less restricted than `limit`, or null when it is within it: each of its
 * allowlist entries inside one of limit's (any address only when limit allows any), an effective
 * rate limit no looser (rateLimitWithin; null = the default), an expiry no later (never only when
 * limit never expires).
 */
function lessRestricted(key: KeyRestrictions, limit: KeyRestrictions, defaultRateLimit: RateLimit): { field: string; message: string } | null {
  const within = limit.apiIds;
  if (within && (!key.apiIds || key.apiIds.some((apiId) => !within.includes(apiId)))) {
    return { field: "apiIds", message: `apiIds must be within ${within.join(", ")}` };
  }
  if (limit.allowedIps.length > 0) {
    if (key.allowedIps.length === 0) return { field: "allowedIps", message: `allowedIps must not be empty (any address) for a key restricted to ${limit.allowedIps.join(", ")}` };
    const outside = key.allowedIps.find((entry) => !limit.allowedIps.some((allowed) => cidrWithin(entry, allowed)));
    if (outside) return { field: "allowedIps", message: `allowedIps entry ${outside} is not inside ${limit.allowedIps.join(", ")}` };
  }
  const keyLimit = key.rateLimit ?? defaultRateLimit;
  const ownLimit = limit.rateLimit ?? defaultRateLimit;
  if (!rateLimitWithin(keyLimit, ownLimit)) {
    return { field: "rateLimit", message: `rateLimit ${formatRateLimit(keyLimit)}${key.rateLimit ? "" : " (the default)"} is looser than ${formatRateLimit(ownLimit)}` };
  }
  if (limit.expiresAt && (!key.expiresAt || key.expiresAt > limit.expiresAt)) {
    return { field: "expiresAt", message: `expiresAt must be no later than ${limit.expiresAt.toISOString()}` };
  }
  return null;
}

/** What an update writes: column values, or SQL computed in the UPDATE itself (an addition to the credit balance). */
type KeyChange = PgUpdateSetSource<typeof apiKeys>;

/** The columns of credits set to `credits` at `now` (null = unlimited): a new balance counts as refilled now. */
function storedCredits(credits: CreditsInput | null, now: Date): Pick<typeof apiKeys.$inferInsert, "creditsRemaining" | "creditsRefill" | "creditsRefilledAt"> {
  if (!credits) return { creditsRemaining: null, creditsRefill: null, creditsRefilledAt: null };
  return { creditsRemaining: credits.remaining, creditsRefill: credits.refill ?? null, creditsRefilledAt: now };
}

function normalizeScopes(scopes: readonly Scope[]): Scope[] {
  return [...new Set(scopes)].sort((a, b) => ["read", "write", "admin"].indexOf(a) - ["read", "write", "admin"].indexOf(b));
}

function diff(before: KeyRow, after: KeyRow, now: Date): Record<string, unknown> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  const credits = (row: KeyRow) => {
    const current = currentCredits(row, now);
    return current && { remaining: current.remaining, refill: current.refill };
  };
  if (JSON.stringify(credits(before)) !== JSON.stringify(credits(after))) changes.credits = { from: credits(before), to: credits(after) };
  for (const field of AUDITED_FIELDS) {
    const from = before[field] instanceof Date ? (before[field] as Date).toISOString() : before[field];
    const to = after[field] instanceof Date ? (after[field] as Date).toISOString() : after[field];
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[field] = { from, to };
  }
  if (!before.revokedAt && after.revokedAt) changes.revokedAt = { from: null, to: after.revokedAt.toISOString() };
  return { changes };
}

/** Every grant names the API's vocabulary, or is a wildcard over some of it. */
function assertGrantsKnown(api: ApiRow, grants: readonly string[]): void {
  const unknown = unknownGrants(grants, api.permissions);
  if (unknown.length > 0) {
    throw new KeywardError("validation_failed", `Not permissions of ${api.name}: ${unknown.join(", ")} (its vocabulary: ${api.permissions.join(", ")})`, { field: "permissions" });
  }
}
