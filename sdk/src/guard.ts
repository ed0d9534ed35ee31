import type { KeywardClient } from "./client";
import { KeywardError } from "./errors";
import type { KeywardEventStream } from "./events";
import type { VerifyResult } from "./generated/router";
import { isWellFormedKey } from "./key-format";
import { sha256Hex } from "./sha256";

export type Scope = "read" | "write" | "admin";

/** Who is calling, once their key has been verified: the key and its owner. */
export type Principal = Omit<Exclude<VerifyResult, { code: "INVALID" }>, "valid" | "code">;

/** Why the guard refused a request; the `code` of its problem+json body. */
export type GuardRefusal =
  | "missing_credentials"
  | "invalid_key"
  | "key_revoked"
  | "key_disabled"
  | "key_expired"
  | "ip_not_allowed"
  | "insufficient_scope"
  | "rate_limited"
  | "service_unavailable";

export interface GuardOptions {
  /** A Keyward client (its key needs the `read` scope); only its `verify` is used. */
  client: Pick<KeywardClient, "verify">;
  /** The scope your endpoint needs (hierarchical: admin ⊇ write ⊇ read). @default undefined (any valid key) */
  scope?: Scope;
  /**
   * How long a positive verification is reused for the same key (and address), never past the
   * key's expiry. A revoked key keeps working on this instance until its entry ends or
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
   * Keyward's event stream (`keywardEvents(...)`): a changed or revoked key, or a changed owner, drops
   * their cached verifications the moment Keyward announces it, and a reconnect (events may have been
   * missed) clears the cache. Without it, a revoked key is refused once its entry ends. @default undefined
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
  /** Drops every cached verification of a user's keys (the user was disabled or lost a role); returns how many. */
  invalidateOwner(ownerId: string): number;
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
  insufficient_scope: { status: 403, title: "Insufficient scope", detail: "The API key lacks the scope this endpoint needs" },
  rate_limited: { status: 429, title: "Rate limited", detail: "The API key has used up its request budget; try again later" },
  service_unavailable: { status: 503, title: "Service unavailable", detail: "The API key could not be verified right now; try again shortly" },
};

const VERDICTS: Record<Exclude<VerifyResult["code"], "VALID">, GuardRefusal> = {
  INVALID: "invalid_key",
  REVOKED: "key_revoked",
  DISABLED: "key_disabled",
  EXPIRED: "key_expired",
  IP_NOT_ALLOWED: "ip_not_allowed",
  INSUFFICIENT_SCOPE: "insufficient_scope",
  RATE_LIMITED: "rate_limited",
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

/**
 * Protects a Fetch-API handler (Remix loader/action, Hono, Next route handler, `(Request) => Response`)
 * with Keyward keys: a malformed key is refused locally, any other is verified through Keyward,
 * and positive verdicts are cached for `cacheTtlMs`. The cache is keyed by SHA-256 of the key, so
 * it holds no plaintext.
 *
 * @example
 * const guard = keywardGuard({ client: keyward, scope: "read" });
 * export async function loader({ request }) {
 *   const auth = await guard(request);
 *   if (!auth.ok) return auth.response;
 *   return Response.json({ hello: auth.principal.ownerId });
 * }
 */
export function keywardGuard(options: GuardOptions): KeywardGuard {
  const ttlMs = options.cacheTtlMs ?? 10_000;
  const maxEntries = options.maxCacheEntries ?? 10_000;
  const problemType = options.problemType ?? (() => "about:blank");
  const cache = new Map<string, CacheEntry>();
  // Concurrent requests with one uncached key share one verification.
  const pending = new Map<string, Promise<VerifyResult>>();

  function refuse(code: GuardRefusal, error?: KeywardError): GuardResult {
    const { status, title, detail } = REFUSALS[code];
    const headers = new Headers({ "Content-Type": "application/problem+json", "Cache-Control": "no-store" });
    if (status === 401) headers.set("WWW-Authenticate", code === "missing_credentials" ? 'Bearer realm="api"' : 'Bearer realm="api", error="invalid_token"');
    if (code === "insufficient_scope" && options.scope) headers.set("WWW-Authenticate", `Bearer realm="api", error="insufficient_scope", scope="${options.scope}"`);
    if (code === "service_unavailable" && error?.retryAfter != null) headers.set("Retry-After", String(error.retryAfter));
    const body = { type: problemType(code), title, status, detail, code, ...(code === "insufficient_scope" && options.scope ? { requiredScope: options.scope } : {}) };
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
    if (!isWellFormedKey(key)) return refuse("invalid_key");
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
        inFlight = options.client.verify({ key, ...(options.scope ? { scope: options.scope } : {}), ...(ip ? { ip } : {}) });
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
      return refuse("service_unavailable", cause);
    }

    if (verdict.code === "INVALID") return refuse("invalid_key");
    const { valid: _valid, code, ...principal } = verdict;
    if (code === "VALID") {
      if (ttlMs > 0) remember(cacheKey, principal);
      return { ok: true, principal, cached: false };
    }
    // A key Keyward now refuses for good: drop what this instance still remembers of it.
    if (code === "REVOKED" || code === "DISABLED" || code === "EXPIRED") invalidate(principal.keyId);
    return refuse(VERDICTS[code]);
  }

  const invalidateOwner = (ownerId: string) => drop((principal) => principal.ownerId === ownerId);
  options.events?.subscribe((event) => {
    if (event.type === "key.changed" && typeof event.keyId === "string") invalidate(event.keyId);
    else if (event.type === "user.changed" && typeof event.userId === "string") invalidateOwner(event.userId);
  });
  options.events?.onOpen(({ reconnected }) => {
    if (reconnected) cache.clear();
  });

  return Object.defineProperties(guard as KeywardGuard, {
    invalidate: { value: invalidate },
    invalidateOwner: { value: invalidateOwner },
    clear: { value: () => cache.clear() },
    size: { get: () => cache.size },
  });
}
