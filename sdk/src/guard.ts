import type { KeywardClient } from "./client";
import { KeywardError } from "./errors";
import type { KeywardEventStream } from "./events";
import { isWellFormedKey, prefixOfKey, ROOT_KEY_PREFIX } from "./key-format";
import { sha256Hex } from "./sha256";
import type { PermissionQuery, RateLimitState, VerifiedKey, VerifyResult } from "./verify-types";

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
  /**
   * A Keyward client with a root key (with the `read` scope, and allowed to see your API); only its
   * `verify` and `reportVerifications` are used.
   */
  client: Pick<KeywardClient, "verify" | "reportVerifications">;
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
   * key's expiry; only for a key without credits and without rate limits: a key with either is
   * verified by Keyward on every request, so its limits and credits hold exactly. Requests admitted
   * from the cache are reported to Keyward (see `flushIntervalMs`). A revoked key keeps working on
   * this instance until its entry ends or `invalidate(keyId)` drops it. 0 turns caching off. @default 10_000
   */
  cacheTtlMs?: number;
  /**
   * Longest time a request admitted from the cache waits before it is reported to Keyward, which
   * records it as a VALID verification of its key (usage, last use, request log). Reports are sent
   * in batches (sooner when 10 000 admissions are waiting); `close()` sends what is left. @default 1_000
   */
  flushIntervalMs?: number;
  /**
   * Told when admissions could not be reported and are given up: Keyward refused the report (e.g. the
   * root key may no longer see the key), or more than 100 000 waited while Keyward was unreachable
   * (those are retried every `flushIntervalMs` until then). @default logs a warning with console.warn
   */
  onReportError?: (error: KeywardError, admissions: number) => void;
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
  | {
      ok: true;
      principal: Principal;
      /** Answered without a verification of its own (from the cache, or sharing a concurrent request's); reported to Keyward later. */
      cached: boolean;
    }
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
  /** Reports the requests admitted from the cache so far to Keyward now; resolves once sent (or put back to retry). */
  flush(): Promise<void>;
  /** Stops the report timer and sends what is left: call it before your process exits, or up to `flushIntervalMs` of cached admissions go unreported. */
  close(): Promise<void>;
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

/** Requests of one key from one address, admitted from the cache from `at` on, not yet reported. */
interface Admission {
  keyId: string;
  ip?: string;
  at: string;
  count: number;
}

/** What Keyward takes in one report (its documented bounds). */
const MAX_REPORT_ENTRIES = 400;
const MAX_REPORT_ADMISSIONS = 10_000;
/** Admissions held while Keyward cannot be reached; beyond it the oldest are given up (and told to onReportError). */
const MAX_UNREPORTED = 100_000;

/**
 * Whether a verdict may stand for other requests than its own: only a VALID one of a key without
 * credits and without rate limits (any other request of such a key would be VALID too, and Keyward is
 * told of it afterwards), and INVALID (which Keyward records nothing for). A charged or limited key is
 * decided by Keyward on every request.
 */
function standsForOthers(verdict: VerifyResult): boolean {
  return verdict.code === "INVALID" || (verdict.code === "VALID" && verdict.credits === null && verdict.ratelimits.length === 0);
}

/** Where a report failed on the way, or Keyward could not take it now: it was not recorded, so it is sent again. */
function isTransient(error: KeywardError): boolean {
  return error.status === 0 || error.status === 429 || error.status >= 500;
}

/**
 * The limit that refused a request (a key's limit and its identity's may share a name: the used-up
 * one), and when every used-up limit has reset, which is when a retry can pass. Undefined when the
 * verdict does not carry it.
 */
function refusingLimit(name: string, limits: RateLimitState[]): { state: RateLimitState; retryAt: string } | undefined {
  const readable = limits.filter((limit) => Number.isFinite(Date.parse(limit.resetAt)));
  const usedUp = readable.filter((limit) => limit.remaining === 0);
  const state = usedUp.find((limit) => limit.name === name) ?? readable.find((limit) => limit.name === name);
  if (!state) return undefined;
  const retryAt = usedUp.reduce((latest, limit) => (Date.parse(limit.resetAt) > Date.parse(latest) ? limit.resetAt : latest), state.resetAt);
  return { state, retryAt };
}

/** The permissions a query names, for the `scope` of RFC 6750's insufficient_scope challenge. */
function requiredPermissions(query: PermissionQuery): string[] {
  return Array.isArray(query) ? query : query.anyOf;
}

/**
 * Protects a Fetch-API handler (Remix loader/action, Hono, Next route handler, `(Request) => Response`)
 * with keys issued for your API: a malformed key (or a root key, which verification never accepts)
 * is refused locally, any other is verified through Keyward against `apiId` and `permissions`, and
 * positive verdicts of keys without credits or rate limits are cached for `cacheTtlMs`; the requests
 * they admit are reported to Keyward within `flushIntervalMs` and counted there like verifications
 * (ADR 21). The cache is keyed by SHA-256 of the key, so it holds no plaintext.
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
  const flushIntervalMs = options.flushIntervalMs ?? 1_000;
  const onReportError = options.onReportError ?? ((error, admissions) => console.warn(`keyward guard: ${admissions} admission(s) could not be reported and were dropped: ${error.message}`));
  const cache = new Map<string, CacheEntry>();
  // Concurrent requests with one uncached key share one verification.
  const pending = new Map<string, Promise<VerifyResult>>();

  function refuse(code: GuardRefusal, { error, missing, limit }: { error?: KeywardError; missing?: string[]; limit?: { state: RateLimitState; retryAt: string } } = {}): GuardResult {
    const { status, title, detail } = REFUSALS[code];
    const headers = new Headers({ "Content-Type": "application/problem+json", "Cache-Control": "no-store" });
    if (status === 401) headers.set("WWW-Authenticate", code === "missing_credentials" ? 'Bearer realm="api"' : 'Bearer realm="api", error="invalid_token"');
    if (code === "insufficient_permissions" && options.permissions) {
      headers.set("WWW-Authenticate", `Bearer realm="api", error="insufficient_scope", scope="${requiredPermissions(options.permissions).join(" ")}"`);
    }
    if (code === "service_unavailable" && error?.retryAfter != null) headers.set("Retry-After", String(error.retryAfter));
    if (limit) {
      // The limit that refused, announced as Keyward announces its own (RateLimit-Reset in seconds), and when every used-up limit has reset.
      const secondsUntil = (at: string) => Math.max(1, Math.ceil((Date.parse(at) - Date.now()) / 1000));
      headers.set("RateLimit-Limit", String(limit.state.limit));
      headers.set("RateLimit-Remaining", String(limit.state.remaining));
      headers.set("RateLimit-Reset", String(secondsUntil(limit.state.resetAt)));
      headers.set("Retry-After", String(secondsUntil(limit.retryAt)));
    }
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

  // Admissions from the cache, by key, address and second, until they are reported.
  const unreported = new Map<string, Admission>();
  let unreportedCount = 0;
  let reportTimer: ReturnType<typeof setTimeout> | undefined;
  let reporting: Promise<void> = Promise.resolve();
  // A report is queued and will take every admission waiting when it runs: no need for another.
  let reportQueued = false;

  /** A request admitted without a verification of its own: Keyward must still count it. */
  function admitted(principal: Principal, ip: string | undefined): GuardResult {
    const second = Math.floor(Date.now() / 1000);
    const slot = `${principal.keyId}|${ip ?? ""}|${second}`;
    const admission = unreported.get(slot);
    if (admission) admission.count++;
    else unreported.set(slot, { keyId: principal.keyId, ...(ip ? { ip } : {}), at: new Date().toISOString(), count: 1 });
    unreportedCount++;
    if (unreportedCount >= MAX_REPORT_ADMISSIONS) void flush();
    else scheduleReport();
    return { ok: true, principal, cached: true };
  }

  function scheduleReport(): void {
    if (reportTimer !== undefined) return;
    reportTimer = setTimeout(() => void flush(), flushIntervalMs);
    // Never what keeps a process alive: close() sends what is left.
    (reportTimer as { unref?: () => void }).unref?.();
  }

  function flush(): Promise<void> {
    clearTimeout(reportTimer);
    reportTimer = undefined;
    if (reportQueued) return reporting;
    reportQueued = true;
    reporting = reporting
      .then(() => {
        reportQueued = false;
        return report();
      })
      // Only onReportError can throw here; the next report must still run.
      .catch(() => undefined);
    return reporting;
  }

  /** Sends every waiting admission, in reports within Keyward's bounds; what could not be delivered waits for the next flush. */
  async function report(): Promise<void> {
    const batch = [...unreported.values()];
    unreported.clear();
    unreportedCount = 0;
    for (const admissions of reports(batch)) {
      try {
        await options.client.reportVerifications({ admissions });
      } catch (error) {
        const cause = error instanceof KeywardError ? error : new KeywardError("invalid_response", String(error), { status: 0, cause: error });
        const count = admissions.reduce((sum, admission) => sum + admission.count, 0);
        if (isTransient(cause)) putBack(admissions, cause);
        else onReportError(cause, count);
      }
    }
  }

  /** Admissions split into reports of at most MAX_REPORT_ENTRIES entries and MAX_REPORT_ADMISSIONS admissions. */
  function* reports(batch: Admission[]): Generator<Admission[]> {
    let current: Admission[] = [];
    let count = 0;
    for (const admission of batch) {
      let left = admission.count;
      while (left > 0) {
        const part = Math.min(left, MAX_REPORT_ADMISSIONS - count);
        current.push({ ...admission, count: part });
        count += part;
        left -= part;
        if (current.length === MAX_REPORT_ENTRIES || count === MAX_REPORT_ADMISSIONS) {
          yield current;
          current = [];
          count = 0;
        }
      }
    }
    if (current.length > 0) yield current;
  }

  /** An undelivered report waits for the next flush, within MAX_UNREPORTED. */
  function putBack(admissions: Admission[], cause: KeywardError): void {
    let dropped = 0;
    for (const admission of admissions) {
      const room = MAX_UNREPORTED - unreportedCount;
      const kept = Math.min(room, admission.count);
      dropped += admission.count - kept;
      if (kept === 0) continue;
      const slot = `${admission.keyId}|${admission.ip ?? ""}|${admission.at}`;
      const waiting = unreported.get(slot);
      if (waiting) waiting.count += kept;
      else unreported.set(slot, { ...admission, count: kept });
      unreportedCount += kept;
    }
    if (dropped > 0) onReportError(cause, dropped);
    scheduleReport();
  }

  async function guard(request: Request, callOptions: { ip?: string } = {}): Promise<GuardResult> {
    const key = readPresentedKey(request);
    if (key === null) return refuse("missing_credentials");
    // Verification never accepts a root key (it authenticates to Keyward, it is not verified): no call for one.
    if (!isWellFormedKey(key) || prefixOfKey(key) === ROOT_KEY_PREFIX) return refuse("invalid_key");
    const ip = callOptions.ip ?? options.clientIp?.(request) ?? undefined;
    const cacheKey = `${sha256Hex(key)}|${ip ?? ""}`;

    const hit = cache.get(cacheKey);
    if (hit) {
      if (hit.until > Date.now()) return admitted(hit.principal, ip);
      cache.delete(cacheKey);
    }

    const verify = () =>
      options.client.verify({
        key,
        ...(options.apiId ? { apiId: options.apiId } : {}),
        ...(options.permissions ? { permissions: options.permissions } : {}),
        ...(ip ? { ip } : {}),
        ...(options.cost !== undefined ? { cost: options.cost } : {}),
      });
    let verdict: VerifyResult;
    let shared = false;
    try {
      let inFlight = pending.get(cacheKey);
      if (inFlight) shared = true;
      else {
        inFlight = verify();
        pending.set(cacheKey, inFlight);
        void inFlight.then(
          () => pending.delete(cacheKey),
          () => pending.delete(cacheKey),
        );
      }
      verdict = await inFlight;
      // Another request's verdict on a charged or limited key says nothing about this one: Keyward decides it.
      if (shared && !standsForOthers(verdict)) {
        shared = false;
        verdict = await verify();
      }
    } catch (error) {
      // Keyward unreachable, or refusing our own client key: fail closed, and not as the caller's fault.
      const cause = error instanceof KeywardError ? error : new KeywardError("invalid_response", String(error), { status: 0, cause: error });
      return refuse("service_unavailable", { error: cause });
    }

    if (verdict.code === "INVALID") return refuse("invalid_key");
    if (verdict.code === "VALID") {
      const { valid: _valid, code: _code, ...principal } = verdict;
      if (shared) return admitted(principal, ip);
      // A key with credits or rate limits is decided by Keyward on every request; it may have gained them since its other entries were cached.
      if (standsForOthers(verdict)) {
        if (ttlMs > 0) remember(cacheKey, principal);
      } else invalidate(principal.keyId);
      return { ok: true, principal, cached: false };
    }
    // A key Keyward now refuses for good: drop what this instance still remembers of it.
    if (verdict.code === "REVOKED" || verdict.code === "DISABLED" || verdict.code === "EXPIRED") invalidate(verdict.keyId);
    if (verdict.code === "INSUFFICIENT_PERMISSIONS") return refuse("insufficient_permissions", { missing: verdict.missing });
    if (verdict.code === "RATE_LIMITED") return refuse("rate_limited", { limit: refusingLimit(verdict.ratelimit, verdict.ratelimits) });
    return refuse(VERDICTS[verdict.code]);
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
    flush: { value: flush },
    close: { value: flush },
  });
}
