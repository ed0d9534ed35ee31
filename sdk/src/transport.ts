import { KeywardError, parseRetryAfter } from "./errors";
import type { Pacer } from "./pacing";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;
export type HeadersOption = Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);

export interface BackoffOptions {
  /** Delay before the first retry; each further retry doubles it, up to `maxMs`. @default 250 */
  initialMs?: number;
  /** The longest delay between two attempts. @default 5_000 */
  maxMs?: number;
}

export interface TransportOptions {
  fetch: FetchLike;
  apiKey: string | (() => string | Promise<string>);
  headers?: HeadersOption;
  timeoutMs: number;
  retries: number;
  backoff: Required<BackoffOptions>;
  /** Longest `Retry-After` waited on a 429; null = 429s are not retried. */
  rateLimitMaxWaitMs: number | null;
  pacer: Pacer | null;
  /** Which procedures are queries; the rest are mutations. */
  kindOf(procedure: string): "query" | "mutation" | undefined;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal | null) => Promise<void>;
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/** Mutations whose repetition is harmless, so a lost answer may be asked for again. */
const IDEMPOTENT_MUTATIONS = new Set(["verify"]);

/**
 * Mutations the server deduplicates by `Idempotency-Key` (docs/decisions/0023-idempotency-keys.md):
 * each call gets one key (the caller's, or a random UUID) kept across its retries, so a retry of a
 * create or rotate whose answer was lost gets the first answer back instead of a second key.
 */
export const IDEMPOTENCY_KEYED_MUTATIONS = new Set(["keys.create", "keys.rotate", "apis.create", "apis.keys.create", "identities.create"]);

/** How many times a call is asked again while the server says its first attempt is still running (409 idempotency_key_in_use). */
const IN_USE_RETRIES = 5;

/** A random UUID v4: Web Crypto's where there is one (Node ≥ 19, browsers), otherwise Math.random's 122 bits (uniqueness, not secrecy, is what counts). */
export function newIdempotencyKey(): string {
  const webCrypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (typeof webCrypto?.randomUUID === "function") return webCrypto.randomUUID();
  return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, (c) => {
    const r = Math.floor(Math.random() * 16);
    return (c === "x" ? r : (r & 0x3) | 0x8).toString(16);
  });
}

/**
 * Delay before retry number `attempt` (0-based): exponential, with "equal jitter" (half fixed,
 * half random) so a crowd of clients that failed together does not retry together.
 */
export function backoffDelay(attempt: number, { initialMs, maxMs }: Required<BackoffOptions>, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}

function sleep(ms: number, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** `/api/trpc/keys.create` → `keys.create` */
function procedureOf(url: string): string {
  const pathname = new URL(url).pathname;
  return decodeURIComponent(pathname.slice(pathname.lastIndexOf("/") + 1));
}

/**
 * The `fetch` handed to tRPC's httpLink: adds the key and headers, bounds each attempt with a
 * timeout, retries what is safe to retry, and feeds the pacer. Failures without a readable
 * answer are thrown as KeywardError; answers tRPC can read are returned for it to decode.
 *
 * What is retried: network errors, timeouts and 5xx of queries and `verify` (repeating them
 * changes nothing); a mutation's 5xx only when Keyward itself sent it (its JSON error: the
 * transaction rolled back), not a proxy's error page; 429 only with `retryOnRateLimit`, after
 * `Retry-After`. Never another 4xx, and never a mutation whose answer was lost: it may have happened,
 * unless it carries an Idempotency-Key (creates and rotate do): then the server replays the first answer.
 */
export function createTransport(options: TransportOptions): FetchLike {
  const random = options.random ?? Math.random;
  const wait = options.sleep ?? sleep;

  return async function keywardFetch(url, init) {
    const procedure = procedureOf(url);
    const keyed = IDEMPOTENCY_KEYED_MUTATIONS.has(procedure);
    const safeToRepeat = options.kindOf(procedure) === "query" || IDEMPOTENT_MUTATIONS.has(procedure) || keyed;
    const callerSignal = init.signal ?? null;
    const headers = new Headers(init.headers);
    const extra = typeof options.headers === "function" ? await options.headers() : options.headers;
    for (const [name, value] of Object.entries(extra ?? {})) headers.set(name, value);
    // One key for the call and all its retries: that is what makes the retries safe.
    if (keyed && !headers.has("idempotency-key")) headers.set("Idempotency-Key", newIdempotencyKey());
    let inUseRetries = 0;
    const apiKey = typeof options.apiKey === "function" ? await options.apiKey() : options.apiKey;
    headers.set("Authorization", `Bearer ${apiKey}`);

    for (let attempt = 0; ; attempt++) {
      const canRetry = attempt < options.retries;
      let response: Response;
      try {
        const send = () => attemptFetch(options.fetch, url, { ...init, headers }, options.timeoutMs, callerSignal, procedure);
        response = options.pacer ? await options.pacer.run(send) : await send();
      } catch (error) {
        if (!(error instanceof KeywardError) || error.code === "aborted" || !safeToRepeat || !canRetry) throw error;
        await pause(backoffDelay(attempt, options.backoff, random));
        continue;
      }

      if (response.status >= 500 && canRetry && (safeToRepeat || isJson(response))) {
        await pause(backoffDelay(attempt, options.backoff, random));
        continue;
      }
      // A retry that reached the server while the lost attempt was still running: wait for that one to finish.
      if (keyed && response.status === 409 && inUseRetries < IN_USE_RETRIES && (await keywardCode(response)) === "idempotency_key_in_use") {
        inUseRetries++;
        attempt--;
        await pause(backoffDelay(inUseRetries - 1, options.backoff, random));
        continue;
      }
      if (response.status === 429 && canRetry && options.rateLimitMaxWaitMs !== null) {
        const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
        const delay = retryAfter === null ? backoffDelay(attempt, options.backoff, random) : retryAfter * 1000;
        if (delay <= options.rateLimitMaxWaitMs) {
          await pause(delay);
          continue;
        }
      }
      if (!isJson(response)) throw unreadable(response, procedure);
      return response;
    }

    async function pause(ms: number): Promise<void> {
      try {
        await wait(ms, callerSignal);
      } catch (cause) {
        throw new KeywardError("aborted", `${procedure}: aborted`, { status: 0, procedure, cause });
      }
    }
  };
}

async function attemptFetch(fetchImpl: FetchLike, url: string, init: RequestInit, timeoutMs: number, callerSignal: AbortSignal | null, procedure: string): Promise<Response> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onCallerAbort = () => controller.abort(callerSignal?.reason);
  if (callerSignal?.aborted) onCallerAbort();
  else callerSignal?.addEventListener("abort", onCallerAbort, { once: true });
  try {
    const response = await fetchImpl(url, { ...init, signal: controller.signal });
    // Read the body under the same timer: a server that sends headers and then stalls is a timeout too.
    const body = NULL_BODY_STATUSES.has(response.status) ? null : await untilAborted(response.arrayBuffer(), controller.signal);
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  } catch (cause) {
    if (callerSignal?.aborted) throw new KeywardError("aborted", `${procedure}: aborted`, { status: 0, procedure, cause });
    if (timedOut) throw new KeywardError("timeout", `${procedure}: no answer within ${timeoutMs} ms`, { status: 0, procedure, cause });
    throw new KeywardError("network_error", `${procedure}: ${cause instanceof Error ? cause.message : "network error"}`, { status: 0, procedure, cause });
  } finally {
    clearTimeout(timer);
    callerSignal?.removeEventListener("abort", onCallerAbort);
  }
}

/** `work`, or a rejection as soon as `signal` aborts: not every fetch (polyfills, mocks) stops a body read on abort. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** The `keywardCode` of a tRPC error answer, read from a copy so tRPC can still read the body. */
async function keywardCode(response: Response): Promise<string | null> {
  try {
    const body = (await response.clone().json()) as { error?: { data?: { keywardCode?: unknown } } };
    const code = body.error?.data?.keywardCode;
    return typeof code === "string" ? code : null;
  } catch {
    return null;
  }
}

function isJson(response: Response): boolean {
  return /^application\/(?:[\w.+-]+\+)?json\b/i.test(response.headers.get("content-type") ?? "");
}

/** An answer that is not Keyward's JSON (a proxy's error page, say): its status is all there is to go on. */
function unreadable(response: Response, procedure: string): KeywardError {
  return new KeywardError("invalid_response", `${procedure}: HTTP ${response.status} without a Keyward JSON body`, {
    status: response.status,
    requestId: response.headers.get("x-request-id"),
    retryAfter: parseRetryAfter(response.headers.get("retry-after")),
    procedure,
  });
}
