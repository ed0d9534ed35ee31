import type { NamedRateLimit, RateLimit } from "../../db/schema";
import { addressBucket, isAddressAllowed } from "../lib/ip";
import { isWellFormedKey } from "../lib/key-format";
import { missingPermissions, type PermissionQuery } from "../lib/permissions";
import { mayAccess, type Actor } from "./actor.server";
import type { Clock } from "./clock.server";
import type { CreditLedger } from "./credits.server";
import type { EventBus, KeywardEvent } from "./events.server";
import type { FailedAuthThrottle } from "./failed-auth-throttle.server";
import type { KeyAuthentication, KeyService } from "./keys.server";
import { digestKey, type DigestSecrets } from "./secrets.server";

type KnownKey = Exclude<KeyAuthentication, { code: "INVALID" }>;

const INVALID = { valid: false, code: "INVALID" } as const;

interface Entry {
  result: KnownKey;
  storedAt: number;
}

export interface VerificationCacheOptions {
  /** Most entries held; the least recently used goes first. */
  maxEntries: number;
  /** How long an entry may be served without a fresh lookup, in ms (0 = never cache). */
  ttlMs: number;
  /** Monotonic milliseconds, for the TTL. @default performance.now */
  now?: () => number;
  /** Digests looked up and found to be no key, answered without a lookup. @default 10 000 for 10 minutes */
  unknown?: DigestMemoryOptions;
}

export interface DigestMemoryOptions {
  maxEntries: number;
  ttlMs: number;
}

/**
 * A set of key digests (never keys), bounded in count (the least recently seen goes first) and in
 * time (an entry is forgotten `ttlMs` after it was added, however often it is seen).
 */
export class DigestMemory {
  /** Map order is recency: the first entry is the least recently seen. */
  private readonly addedAt = new Map<string, number>();

  constructor(
    private readonly options: DigestMemoryOptions,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.addedAt.size;
  }

  has(digest: string): boolean {
    const added = this.addedAt.get(digest);
    if (added === undefined) return false;
    this.addedAt.delete(digest);
    if (this.now() - added >= this.options.ttlMs) return false;
    this.addedAt.set(digest, added);
    return true;
  }

  add(digest: string): void {
    if (this.options.maxEntries <= 0 || this.options.ttlMs <= 0) return;
    this.addedAt.delete(digest);
    this.addedAt.set(digest, this.now());
    if (this.addedAt.size > this.options.maxEntries) this.addedAt.delete(this.addedAt.keys().next().value!);
  }

  clear(): void {
    this.addedAt.clear();
  }
}

/**
 * Digest → key record, in process. Bounded (LRU) and short-lived (TTL); the TTL is only the
 * backstop for a lost notification, since every change to a key or its owner drops the entry
 * on every instance through the event bus.
 */
export class VerificationCache {
  /** Map order is recency: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private readonly digestByKeyId = new Map<string, string>();
  /** Bumped by every invalidation, so a lookup that raced one is not stored (it may have read the old row). */
  private generation = 0;
  private readonly now: () => number;
  /**
   * The negative cache: digests of no key. Kept apart from the entries so a flood of made-up keys
   * never pushes real ones out. A digest nobody issued cannot become a key later (keys are
   * generated here, at random), so an entry is never stale; the TTL only bounds its life.
   */
  readonly unknown: DigestMemory;

  constructor(private readonly options: VerificationCacheOptions) {
    this.now = options.now ?? (() => performance.now());
    this.unknown = new DigestMemory(options.unknown ?? { maxEntries: 10_000, ttlMs: 10 * 60_000 }, this.now);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Lookups answered from the cache, and those that were not (read by the metrics endpoint). */
  hits = 0;
  misses = 0;

  get(digest: string): KnownKey | undefined {
    const entry = this.entries.get(digest);
    if (!entry) {
      this.misses++;
      return undefined;
    }
    if (this.now() - entry.storedAt >= this.options.ttlMs) {
      this.remove(digest, entry);
      this.misses++;
      return undefined;
    }
    this.entries.delete(digest);
    this.entries.set(digest, entry);
    this.hits++;
    return entry.result;
  }

  /** Take this before a lookup and hand it to `set`: a lookup that overlapped an invalidation is not stored. */
  ticket(): number {
    return this.generation;
  }

  set(digest: string, result: KnownKey, ticket: number): void {
    if (ticket !== this.generation || this.options.ttlMs <= 0 || this.options.maxEntries <= 0) return;
    const previous = this.entries.get(digest);
    if (previous) this.remove(digest, previous);
    this.entries.set(digest, { result, storedAt: this.now() });
    this.digestByKeyId.set(result.key.id, digest);
    while (this.entries.size > this.options.maxEntries) {
      const [oldest, entry] = this.entries.entries().next().value as [string, Entry];
      this.remove(oldest, entry);
    }
  }

  invalidateKey(keyId: string): void {
    this.generation++;
    const digest = this.digestByKeyId.get(keyId);
    const entry = digest === undefined ? undefined : this.entries.get(digest);
    if (digest !== undefined && entry) this.remove(digest, entry);
  }

  /** A change to a user (role, disabled) changes what every key of theirs may do. */
  invalidateOwner(userId: string): void {
    this.generation++;
    for (const [digest, entry] of this.entries) {
      if (entry.result.key.ownerId === userId) this.remove(digest, entry);
    }
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
    this.digestByKeyId.clear();
    this.unknown.clear();
  }

  /** Drops every entry `matches` picks (an API's keys, an identity's keys). */
  invalidateWhere(matches: (key: KnownKey["key"]) => boolean): void {
    this.generation++;
    for (const [digest, entry] of this.entries) {
      if (matches(entry.result.key)) this.remove(digest, entry);
    }
  }

  apply(event: KeywardEvent): void {
    if (event.type === "key.changed") this.invalidateKey(event.keyId);
    else if (event.type === "user.changed") this.invalidateOwner(event.userId);
    else if (event.type === "api.changed") this.invalidateWhere((key) => key.apiId === event.apiId);
    else if (event.type === "identity.changed") this.invalidateWhere((key) => key.identity?.id === event.identityId);
  }

  /** Drops entries as instances (this one included) announce changes; returns the unsubscribe. */
  listen(bus: Pick<EventBus, "subscribe">): () => void {
    return bus.subscribe((event) => this.apply(event));
  }

  private remove(digest: string, entry: Entry): void {
    this.entries.delete(digest);
    if (this.digestByKeyId.get(entry.result.key.id) === digest) this.digestByKeyId.delete(entry.result.key.id);
  }
}

/**
 * Publishes through the bus and drops the caches' entries here at once, so a change made on this
 * instance holds for the very next request, not only once its own NOTIFY comes back.
 */
export function invalidatingPublisher(caches: readonly Pick<VerificationCache, "apply">[], bus: Pick<EventBus, "publish">): Pick<EventBus, "publish"> {
  return {
    async publish(event) {
      for (const cache of caches) cache.apply(event);
      await bus.publish(event);
    },
  };
}

// The named rate limits, taken by `verify` for the verified key and its identity. ---------------

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetAt: Date;
}

/** Takes `cost` requests from the budget under `id` (a key's or an identity's named limit). */
export interface KeyRateLimiter {
  consume(id: string, limit: RateLimit, cost: number): Promise<RateLimitDecision>;
}

// Verification -------------------------------------------------------------------------------

export const VERIFY_CODES = ["VALID", "INVALID", "REVOKED", "DISABLED", "EXPIRED", "IP_NOT_ALLOWED", "INSUFFICIENT_PERMISSIONS", "WRONG_API", "RATE_LIMITED", "USAGE_EXCEEDED"] as const;
export type VerifyCode = (typeof VERIFY_CODES)[number];

/** What a verification tells about an issued key the caller may manage. */
export interface VerifiedKey {
  keyId: string;
  apiId: string;
  name: string;
  identity: { id: string; externalId: string; meta: Record<string, unknown> } | null;
  permissions: string[];
  meta: Record<string, unknown>;
  expiresAt: string | null;
  /**
   * The key's credits after this verification (null = unlimited). A refusal before the charge
   * took nothing and tells the balance as it stands.
   */
  credits: { remaining: number } | null;
  /** The named limits this verification applied, after it; empty when it was refused before the rate limits. */
  ratelimits: { name: string; limit: number; remaining: number; resetAt: string }[];
}

/**
 * The verdict on a key a service received. INVALID carries nothing else: it is also the answer for
 * an unknown key, a root key, and a key of an API the caller may not see, which must not be told apart.
 */
export type VerifyResult =
  | { valid: false; code: "INVALID" }
  | ({ valid: true; code: "VALID" } & VerifiedKey)
  | ({ valid: false; code: "INSUFFICIENT_PERMISSIONS"; missing: string[] } & VerifiedKey)
  | ({ valid: false; code: "RATE_LIMITED"; ratelimit: string } & VerifiedKey)
  | ({ valid: false; code: Exclude<VerifyCode, "VALID" | "INVALID" | "INSUFFICIENT_PERMISSIONS" | "RATE_LIMITED"> } & VerifiedKey);

export interface VerifyOptions {
  /** Who asks (the root key or session calling verify): it only learns about keys it may manage. */
  caller: Actor;
  /** The API the service protects: a key of another API is WRONG_API. */
  apiId?: string;
  /** Permissions the request needs: all of a list, or any of `{ anyOf }`. */
  permissions?: PermissionQuery;
  /** The address the service's caller came from; a key with an allowlist is refused (IP_NOT_ALLOWED) without it. */
  ip?: string;
  /** Credits a VALID verdict takes from a key that has credits (default 1; 0 checks without charging). */
  cost?: number;
  /** The named limits to apply, with a cost each (default 1); absent = every limit of the key and its identity, cost 1. */
  ratelimits?: { name: string; cost?: number }[];
}

export interface KeyVerifierDeps {
  keys: Pick<KeyService, "authenticate">;
  secrets: DigestSecrets;
  clock: Clock;
  cache: VerificationCache;
  /** Takes from the verified key's (and its identity's) named limits; absent = no limits enforced. */
  limiter?: KeyRateLimiter;
  /** Charges keys that have credits; absent = credits are not enforced. */
  credits?: Pick<CreditLedger, "charge" | "balance">;
}

type Refusal =
  | { code: Exclude<VerifyCode, "VALID" | "INVALID" | "INSUFFICIENT_PERMISSIONS" | "RATE_LIMITED"> }
  | { code: "INSUFFICIENT_PERMISSIONS"; missing: string[] }
  | { code: "RATE_LIMITED"; ratelimit: string };

/** The first check before the rate limits that refuses the key; null = all passed. */
function firstRefusal(
  key: KnownKey["key"],
  { apiId, permissions, ip, code }: Pick<VerifyOptions, "apiId" | "permissions" | "ip"> & { code: KnownKey["code"] },
): Refusal | null {
  if (apiId !== undefined && apiId !== key.apiId) return { code: "WRONG_API" };
  if (code !== "VALID") return { code };
  if (key.allowedIps.length > 0 && (ip === undefined || !isAddressAllowed(ip, key.allowedIps))) return { code: "IP_NOT_ALLOWED" };
  const missing = permissions ? missingPermissions(key.permissions, permissions, key.implications) : [];
  if (missing.length > 0) return { code: "INSUFFICIENT_PERMISSIONS", missing };
  return null;
}

/**
 * The limits a verification takes from, each under its own limiter id: the key's (`key:<id>:<name>`)
 * and its identity's (`identity:<id>:<name>`, shared by all its keys). `requested` picks them by
 * name with a cost each (a name neither has is ignored); absent = all of them, cost 1.
 */
function appliedLimits(key: KnownKey["key"], requested: VerifyOptions["ratelimits"]): { id: string; limit: NamedRateLimit; cost: number }[] {
  const costs = requested && new Map(requested.map(({ name, cost }) => [name, cost ?? 1]));
  const all = [
    ...key.ratelimits.map((limit) => ({ id: `key:${key.id}:${limit.name}`, limit })),
    ...(key.identity ? key.identityRatelimits.map((limit) => ({ id: `identity:${key.identity!.id}:${limit.name}`, limit })) : []),
  ];
  return all.flatMap(({ id, limit }) => {
    const cost = costs ? costs.get(limit.name) : 1;
    return cost === undefined ? [] : [{ id, limit, cost }];
  });
}

/** The per-address failure counter the admission consults (the container's failed-auth throttle). */
export type FailureCounter = Pick<FailedAuthThrottle, "isBlocked" | "recordFailure">;

/** What the admission says of a presented key: what the key service says, or that the caller's address must wait. */
export type KeyAdmission = KeyAuthentication | { code: "THROTTLED"; retryAfterSeconds: number };

/** The one way a presented key is turned into a key record: format check, cache, then one indexed query. */
export class KeyVerifier {
  constructor(private readonly deps: KeyVerifierDeps) {}

  get cache(): VerificationCache {
    return this.deps.cache;
  }

  /** For a key whose presenter is already admitted (the verify endpoint's subject, a stream's re-check): no throttle. */
  async authenticate(presented: string): Promise<KeyAuthentication> {
    if (!isWellFormedKey(presented)) return { code: "INVALID" };
    const digest = digestKey(presented, this.deps.secrets.current.secret);
    return this.recalled(digest) ?? this.lookUp(presented, digest);
  }

  /**
   * The admission of a key a client presented, shared by REST, tRPC and the URL check. The
   * failure throttle never refuses a key that verifies, from the cache or from the database: it
   * counts, per address bucket (an IPv6 /64), the lookups that found no valid key, and once a
   * bucket is at its limit its unknown digests are answered THROTTLED (429 with Retry-After)
   * instead of INVALID. A digest recently found to be no key costs no lookup (the negative
   * cache). With `lookUp: "unless-throttled"` (the URL check, which looks a key up only to name
   * it in a security event) a throttled bucket gets no lookup at all.
   */
  async admit(
    presented: string,
    { clientIp, failures, lookUp = "always" }: { clientIp: string; failures?: FailureCounter; lookUp?: "always" | "unless-throttled" },
  ): Promise<KeyAdmission> {
    if (!isWellFormedKey(presented)) return { code: "INVALID" };
    const digest = digestKey(presented, this.deps.secrets.current.secret);
    const recalled = this.recalled(digest);
    if (!failures) return recalled ?? this.lookUp(presented, digest);
    // A known key (valid or not) is answered as it is, whatever its address did.
    if (recalled && recalled.code !== "INVALID") return recalled;

    const bucket = addressBucket(clientIp);
    const verdict = failures.isBlocked(bucket);
    const throttled: KeyAdmission | null = verdict.blocked ? { code: "THROTTLED", retryAfterSeconds: verdict.retryAfterSeconds } : null;
    if (recalled) return throttled ?? recalled;
    if (throttled && lookUp === "unless-throttled") return throttled;
    const result = await this.lookUp(presented, digest);
    if (result.code === "VALID") return result;
    failures.recordFailure(bucket);
    return result.code === "INVALID" && throttled ? throttled : result;
  }

  /**
   * For services protecting their own APIs with keys Keyward issued. In order: the key (format,
   * cache, lookup), whether the caller may manage it (else INVALID, like an unknown key), its API,
   * its status, the allowlist against `ip`, the permissions, the named rate limits, and last the credits
   * (taken only when everything else passed, in one atomic statement), so a refused request spends nothing.
   */
  async verify(presented: string, { caller, apiId, permissions, ip, cost = 1, ratelimits }: VerifyOptions): Promise<VerifyResult> {
    const result = await this.authenticate(presented);
    if (result.code === "INVALID") return INVALID;
    const { key } = result;
    if (key.apiId === null || key.apiArchived || !mayAccess(caller, key.ownerId, key.apiId)) return INVALID;
    const described = this.describe(key, key.apiId);
    const refused = firstRefusal(key, { apiId, permissions, ip, code: result.code });
    if (refused) return this.refused(key, { ...described, ratelimits: [] }, refused);
    const decisions = await this.takeLimits(key, ratelimits);
    const known = { ...described, ratelimits: decisions.map(({ name, decision }) => ({ name, limit: decision.limit, remaining: decision.remaining, resetAt: decision.resetAt.toISOString() })) };
    const limitedBy = decisions.find(({ decision }) => !decision.allowed);
    if (limitedBy) return this.refused(key, known, { code: "RATE_LIMITED", ratelimit: limitedBy.name });
    const { credits } = this.deps;
    if (!key.hasCredits || !credits) return { valid: true, code: "VALID", ...known, credits: null };
    const charge = await credits.charge(key.id, cost, this.deps.clock.now());
    const balance = charge.remaining === null ? null : { remaining: charge.remaining };
    return charge.charged ? { valid: true, code: "VALID", ...known, credits: balance } : { valid: false, code: "USAGE_EXCEEDED", ...known, credits: balance };
  }

  /** What a verification tells about a key the caller may manage, its limits and credits aside. */
  private describe(key: KnownKey["key"], apiId: string): Omit<VerifiedKey, "credits" | "ratelimits"> {
    return {
      keyId: key.id,
      apiId,
      name: key.name,
      identity: key.identity,
      permissions: key.permissions,
      meta: key.metadata,
      expiresAt: key.expiresAt,
    };
  }

  /**
   * Takes the request from every limit it names (all of the key's and its identity's by default),
   * at once: each limit counts the request even when another refuses it, so a limit's count does
   * not depend on the order limits are listed in. Returned in order: the key's, then the identity's.
   */
  private async takeLimits(key: KnownKey["key"], requested: VerifyOptions["ratelimits"]): Promise<{ name: string; decision: RateLimitDecision }[]> {
    const { limiter } = this.deps;
    if (!limiter) return [];
    return Promise.all(
      appliedLimits(key, requested).map(async ({ id, limit, cost }) => ({
        name: limit.name,
        decision: await limiter.consume(id, { requests: limit.limit, windowSeconds: limit.durationSeconds }, cost),
      })),
    );
  }

  /** A refusal, with the key's balance as it stands (nothing taken). */
  private async refused(key: KnownKey["key"], known: Omit<VerifiedKey, "credits">, refusal: Refusal): Promise<VerifyResult> {
    const remaining = key.hasCredits && this.deps.credits ? await this.deps.credits.balance(key.id, this.deps.clock.now()) : null;
    return { valid: false, ...refusal, ...known, credits: remaining === null ? null : { remaining } };
  }

  /** What memory holds for a digest: its cached record, or that it is no key (the negative cache); null = look it up. */
  private recalled(digest: string): KeyAuthentication | null {
    const cached = this.deps.cache.get(digest);
    if (cached) return this.withExpiry(cached);
    return this.deps.cache.unknown.has(digest) ? { code: "INVALID" } : null;
  }

  /** One indexed query; its answer is remembered (a known key in the cache, no key in the negative cache). */
  private async lookUp(presented: string, digest: string): Promise<KeyAuthentication> {
    const { cache } = this.deps;
    const ticket = cache.ticket();
    const result = await this.deps.keys.authenticate(presented);
    if (result.code === "INVALID") cache.unknown.add(digest);
    else cache.set(digest, result, ticket);
    return result;
  }

  /** Expiry is a matter of time, not of a change anyone announces: judge it on every hit. */
  private withExpiry(result: KnownKey): KnownKey {
    if (result.code === "REVOKED" || result.code === "EXPIRED" || !result.key.expiresAt) return result;
    return Date.parse(result.key.expiresAt) <= this.deps.clock.now().getTime() ? { code: "EXPIRED", key: result.key } : result;
  }
}
