import type { KeywardClient } from "./client";
import { KeywardError } from "./errors";
import type { KeywardEventStream } from "./events";
import { isWellFormedKey, prefixOfKey, ROOT_KEY_PREFIX } from "./key-format";
import { sha256Hex } from "./sha256";
import type { PermissionQuery, VerifiedKey, VerifyResult } from "./verify-types";

/** Who is calling, once their key has been verified: the key, its API, its identity and its permissions. */
export type Principal = VerifiedKey;

/** Why the guard refused a request; the `code` of its problem+json body. */
export type GuardRefusal =
  | "missing_credentials"
  | "invalid_key"
  | "key_revoked"
  | "key_disabled"
  | "key_expired"
  | "ip_not_allowed"
  | "insufficient_permissions"
  | "rate_limited"
  | "usage_exceeded"
  | "service_unavailable";

export interface GuardOptions {
  /** A Keyward client with a root key (with the `read` scope, and allowed to see your API); only its `verify` is used. */
  client: Pick<KeywardClient, "verify">;
  /** The API your endpoint belongs to: keys of any other API are refused like invalid ones. @default undefined (keys of any API the root key sees) */
  apiId?: string;
  /**
   * The permissions your endpoint needs: all of a list, or one of `{ anyOf: [...] }` (wildcard grants
   * and the API's implications count). @default undefined (any valid key)
   */
  permissions?: PermissionQuery;
  /** Credits each request costs a key that has credits (0 checks without charging). @default 1 */
  cost?: number;
  /**
   * How long a positive verification is reused for the same key (and address), never past the
   * key's expiry; never for a key with credits, whose every request is charged by Keyward. A revoked key keeps working on this instance until its entry ends or
   * `invalidate(keyId)` drops it. 0 turns caching off. @default 10_000
   */
  cacheTtlMs?: number;
  /** Most cached verifications; the oldest goes first. @default 10_000 */
  maxCacheEntries?: number;
  /**
   * Your caller's address, for keys with an IP allowlist (such a key is refused when it is
   * missing). Read it the way your proxy setup makes trustworthy. @default undefined
   */
  clientIp?: (request: Request) => string | null | undefined;
  /** The problem+json `type` for a refusal. @default () => "about:blank" */
  problemType?: (code: GuardRefusal) => string;
  /**
   * Keyward's event stream (`keywardEvents(...)`): a changed or revoked key, API or identity drops
   * their cached verifications the moment Keyward announces it, a changed user (who may have been
   * disabled, and their keys with them) and a reconnect (events may have been missed) clear the
   * cache. Without it, a revoked key is refused once its entry ends. @default undefined
   */
  events?: Pick<KeywardEventStream, "subscribe" | "onOpen">;
}

export type GuardResult =
  | { ok: true; principal: Principal; /** Answered from the cache, without a call to Keyward. */ cached: boolean }
  | {
      ok: false;
      code: GuardRefusal;
      /** A ready 401/403/429/503 `application/problem+json` answer: return it as it is. */
      response: Response;
      /** For `service_unavailable`: what went wrong reaching Keyward (log it; it is not sent). */
      error?: KeywardError;
    };

export interface KeywardGuard {
  /** Verifies the key a request carries (`Authorization: Bearer …` or `X-API-Key`). */
  (request: Request, options?: { ip?: string }): Promise<GuardResult>;
  /** Drops every cached verification of a key (e.g. on a revocation event); returns how many. */
  invalidate(keyId: string): number;
  /** Drops every cached verification of an API's keys (its permissions changed, or it was archived); returns how many. */
  invalidateApi(apiId: string): number;
  /** Drops every cached verification of an identity's keys (e.g. after a bulk revoke); returns how many. */
  invalidateIdentity(identityId: string): number;
  /** Drops every cached verification. */
  clear(): void;
  /** Cached verifications. */
  readonly size: number;
}

const REFUSALS: Record<GuardRefusal, { status: number; title: string; detail: string }> = {
  missing_credentials: { status: 401, title: "Missing credentials", detail: "Send your API key in the Authorization header (Bearer) or in X-API-Key" },
  invalid_key: { status: 401, title: "Invalid API key", detail: "The API key is not valid" },
  key_revoked: { status: 401, title: "API key revoked", detail: "The API key has been revoked" },
  key_disabled: { status: 401, title: "API key disabled", detail: "The API key is disabled" },
  key_expired: { status: 401, title: "API key expired", detail: "The API key has expired" },
  ip_not_allowed: { status: 403, title: "Address not allowed", detail: "This key may not be used from your address" },
  insufficient_permissions: { status: 403, title: "Insufficient permissions", detail: "The API key lacks a permission this endpoint needs" },
  rate_limited: { status: 429, title: "Rate limited", detail: "The API key has used up its request budget; try again later" },
  usage_exceeded: { status: 429, title: "Usage exceeded", detail: "The API key has no credits left for this request" },
  service_unavailable: { status: 503, title: "Service unavailable", detail: "The API key could not be verified right now; try again shortly" },
};

const VERDICTS: Record<Exclude<VerifyResult["code"], "VALID">, GuardRefusal> = {
  INVALID: "invalid_key",
  // Another service's key is no key here: answered like an unknown one.
  WRONG_API: "invalid_key",
  REVOKED: "key_revoked",
  DISABLED: "key_disabled",
  EXPIRED: "key_expired",
  IP_NOT_ALLOWED: "ip_not_allowed",
  INSUFFICIENT_PERMISSIONS: "insufficient_permissions",
  RATE_LIMITED: "rate_limited",
  USAGE_EXCEEDED: "usage_exceeded",
};

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The presented key: `Authorization: Bearer <key>`, else `X-API-Key`. Never the URL. */
function readPresentedKey(request: Request): string | null {
  const authorization = request.headers.get("authorization");
  if (authorization !== null) return BEARER.exec(authorization)?.[1] ?? authorization.trim();
  return request.headers.get("x-api-key")?.trim() || null;
}

interface CacheEntry {
  principal: Principal;
  until: number;
}

/** The permissions a query names, for the `scope` of RFC 6750's insufficient_scope challenge. */
function requiredPermissions(query: PermissionQuery): string[] {
  return Array.isArray(query) ? query : query.anyOf;
}

/**
 * Protects a Fetch-API handler (Remix loader/action, Hono, Next route handler, `(Request) => Response`)
 * with keys issued for your API: a malformed key (or a root key, which verification never accepts)
 * is refused locally, any other is verified through Keyward against `apiId` and `permissions`, and
 * positive verdicts are cached for `cacheTtlMs`. The cache is keyed by SHA-256 of the key, so it
 * holds no plaintext.
 *
 * @example
 * const guard = keywardGuard({ client: keyward, apiId: "api_…", permissions: ["orders.read"] });
 * export async function loader({ request }) {
 *   const auth = await guard(request);
 *   if (!auth.ok) return auth.response;
 *   return Response.json({ customer: auth.principal.identity?.externalId });
 * }
 */
export function keywardGuard(options: GuardOptions): KeywardGuard {
  const ttlMs = options.cacheTtlMs ?? 10_000;
  const maxEntries = options.maxCacheEntries ?? 10_000;
  const problemType = options.problemType ?? (() => "about:blank");
  const cache = new Map<string, CacheEntry>();
  // Concurrent requests with one uncached key share one verification.
  const pending = new Map<string, Promise<VerifyResult>>();

  function refuse(code: GuardRefusal, { error, missing }: { error?: KeywardError; missing?: string[] } = {}): GuardResult {
    const { status, title, detail } = REFUSALS[code];
    const headers = new Headers({ "Content-Type": "application/problem+json", "Cache-Control": "no-store" });
    if (status === 401) headers.set("WWW-Authenticate", code === "missing_credentials" ? 'Bearer realm="api"' : 'Bearer realm="api", error="invalid_token"');
    if (code === "insufficient_permissions" && options.permissions) {
      headers.set("WWW-Authenticate", `Bearer realm="api", error="insufficient_scope", scope="${requiredPermissions(options.permissions).join(" ")}"`);
    }
    if (code === "service_unavailable" && error?.retryAfter != null) headers.set("Retry-After", String(error.retryAfter));
    // The caller learns what its own key lacks, which it needs to ask for the right key.
    const body = { type: problemType(code), title, status, detail, code, ...(missing ? { missing } : {}) };
    return { ok: false, code, response: new Response(JSON.stringify(body), { status, headers }), ...(error ? { error } : {}) };
  }

  function remember(cacheKey: string, principal: Principal): void {
    const now = Date.now();
    const expiresAt = principal.expiresAt === null ? Infinity : Date.parse(principal.expiresAt);
    const until = Math.min(now + ttlMs, expiresAt);
    if (until <= now) return;
    cache.delete(cacheKey);
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(cacheKey, { principal, until });
  }

  function drop(matches: (principal: Principal) => boolean): number {
    let dropped = 0;
    for (const [cacheKey, entry] of cache) {
      if (matches(entry.principal)) {
        cache.delete(cacheKey);
        dropped++;
      }
    }
    return dropped;
  }
  const invalidate = (keyId: string) => drop((principal) => principal.keyId === keyId);

  async function guard(request: Request, callOptions: { ip?: string } = {}): Promise<GuardResult> {
    const key = readPresentedKey(request);
    if (key === null) return refuse("missing_credentials");
    // Verification never accepts a root key (it authenticates to Keyward, it is not verified): no call for one.
    if (!isWellFormedKey(key) || prefixOfKey(key) === ROOT_KEY_PREFIX) return refuse("invalid_key");
    const ip = callOptions.ip ?? options.clientIp?.(request) ?? undefined;
    const cacheKey = `${sha256Hex(key)}|${ip ?? ""}`;

    const hit = cache.get(cacheKey);
    if (hit) {
      if (hit.until > Date.now()) return { ok: true, principal: hit.principal, cached: true };
      cache.delete(cacheKey);
    }

    let verdict: VerifyResult;
    try {
      let inFlight = pending.get(cacheKey);
      if (!inFlight) {
        inFlight = options.client.verify({
          key,
          ...(options.apiId ? { apiId: options.apiId } : {}),
          ...(options.permissions ? { permissions: options.permissions } : {}),
          ...(ip ? { ip } : {}),
          ...(options.cost !== undefined ? { cost: options.cost } : {}),
        });
        pending.set(cacheKey, inFlight);
        void inFlight.then(
          () => pending.delete(cacheKey),
          () => pending.delete(cacheKey),
        );
      }
      verdict = await inFlight;
    } catch (error) {
      // Keyward unreachable, or refusing our own client key: fail closed, and not as the caller's fault.
      const cause = error instanceof KeywardError ? error : new KeywardError("invalid_response", String(error), { status: 0, cause: error });
      return refuse("service_unavailable", { error: cause });
    }

    if (verdict.code === "INVALID") return refuse("invalid_key");
    if (verdict.code === "VALID") {
      const { valid: _valid, code: _code, ...principal } = verdict;
      // A key with credits pays for every request: a cached verdict would let requests through unpaid.
      if (ttlMs > 0 && principal.credits === null) remember(cacheKey, principal);
      return { ok: true, principal, cached: false };
    }
    // A key Keyward now refuses for good: drop what this instance still remembers of it.
    if (verdict.code === "REVOKED" || verdict.code === "DISABLED" || verdict.code === "EXPIRED") invalidate(verdict.keyId);
    return refuse(VERDICTS[verdict.code], verdict.code === "INSUFFICIENT_PERMISSIONS" ? { missing: verdict.missing } : {});
  }

  const invalidateApi = (apiId: string) => drop((principal) => principal.apiId === apiId);
  const invalidateIdentity = (identityId: string) => drop((principal) => principal.identity?.id === identityId);
  options.events?.subscribe((event) => {
    if (event.type === "key.changed" && typeof event.keyId === "string") invalidate(event.keyId);
    else if (event.type === "api.changed" && typeof event.apiId === "string") invalidateApi(event.apiId);
    else if (event.type === "identity.changed" && typeof event.identityId === "string") invalidateIdentity(event.identityId);
    // A verdict does not say who owns the key, and a disabled user's keys stop working with them.
    else if (event.type === "user.changed") cache.clear();
  });
  options.events?.onOpen(({ reconnected }) => {
    if (reconnected) cache.clear();
  });

  return Object.defineProperties(guard as KeywardGuard, {
    invalidate: { value: invalidate },
    invalidateApi: { value: invalidateApi },
    invalidateIdentity: { value: invalidateIdentity },
    clear: { value: () => cache.clear() },
    size: { get: () => cache.size },
  });
}
