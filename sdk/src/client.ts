import { createTRPCUntypedClient, httpLink, TRPCClientError } from "@trpc/client";
import type { AnyTRPCProcedure, inferProcedureInput, inferRouterInputs, inferRouterOutputs, inferTransformedProcedureOutput, TRPCRouterRecord } from "@trpc/server";
import { KeywardError, parseRetryAfter } from "./errors";
import { PROCEDURES, type AppRouter } from "./generated/router";
import { rootKeyProblem } from "./key-format";
import { Pacer, type PacingOptions } from "./pacing";
import { createTransport, type BackoffOptions, type FetchLike, type HeadersOption } from "./transport";
import type { VerifyInput, VerifyResult } from "./verify-types";

export interface KeywardOptions {
  /** Where Keyward runs, e.g. `https://keys.example.com` (the SDK calls `<baseUrl>/api/trpc/…`). */
  baseUrl: string;
  /**
   * A Keyward root key (`kw_…`), sent as `Authorization: Bearer`: keys issued for your APIs are only
   * ever verified, never accepted here. A function is called before every request, so a key you
   * rotate is picked up without a new client.
   */
  apiKey: string | (() => string | Promise<string>);
  /** The fetch to use: a polyfill, a test double, or one with a custom agent. @default globalThis.fetch */
  fetch?: FetchLike;
  /** Time allowed for each attempt, answer body included. @default 10_000 */
  timeoutMs?: number;
  /** Further attempts after a failure that is safe to retry (see the README's "Retries"). 0 turns retries off. @default 2 */
  retries?: number;
  /** Exponential backoff with jitter between attempts. @default { initialMs: 250, maxMs: 5_000 } */
  backoff?: BackoffOptions;
  /** Extra headers on every request (the key's `Authorization` header always wins). A function is called per request. @default undefined */
  headers?: HeadersOption;
  /**
   * On 429, wait for `Retry-After` and try again (counts against `retries`). `true` waits up to
   * 60 s; a longer `Retry-After` is thrown at once, with `retryAfter` set. @default false
   */
  retryOnRateLimit?: boolean | { maxWaitMs?: number };
  /**
   * Queue calls client-side to stay within the key's rate limit, read from the `RateLimit-*`
   * headers of earlier answers, instead of collecting 429s. @default false
   */
  pacing?: boolean | PacingOptions;
}

/** Per-call options. */
export interface CallOptions {
  /** Aborts the call (and its retries); it then rejects with code `aborted`. */
  signal?: AbortSignal;
  /**
   * The `Idempotency-Key` of a create or rotate (1–255 printable ASCII characters). The SDK sends a
   * random one per call anyway, kept across its retries; pass your own to make a call repeatable
   * across processes (e.g. a job that restarts): the same key and input within 24 h get the first answer.
   */
  idempotencyKey?: string;
}

type ProcedureCall<P extends AnyTRPCProcedure> = undefined extends inferProcedureInput<P>
  ? (input?: inferProcedureInput<P>, options?: CallOptions) => Promise<inferTransformedProcedureOutput<AppRouter, P>>
  : (input: inferProcedureInput<P>, options?: CallOptions) => Promise<inferTransformedProcedureOutput<AppRouter, P>>;

type Namespaces<R extends TRPCRouterRecord> = {
  readonly [K in keyof R]: R[K] extends AnyTRPCProcedure ? ProcedureCall<R[K]> : R[K] extends TRPCRouterRecord ? Namespaces<R[K]> : never;
};

/**
 * The typed client: one method per procedure of Keyward's router, in the router's namespaces.
 * `verify` answers the discriminated union of verify-types.ts, so a handler can narrow on `valid` and `code`.
 */
export type KeywardClient = Omit<Namespaces<AppRouter["_def"]["record"]>, "verify"> & {
  /** Verifies a key issued for one of your APIs, against its API and the permissions a request needs. */
  readonly verify: (input: VerifyInput, options?: CallOptions) => Promise<VerifyResult>;
};
/** Inputs of every procedure, e.g. `RouterInputs["keys"]["create"]`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Outputs of every procedure, e.g. `RouterOutputs["keys"]["list"]`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRIES = 2;
const DEFAULT_BACKOFF = { initialMs: 250, maxMs: 5_000 };
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

/**
 * A Keyward client.
 *
 * @example
 * const keyward = createKeyward({ baseUrl: "https://keys.example.com", apiKey: process.env.KEYWARD_ROOT_KEY! });
 * const verdict = await keyward.verify({ key: presented, apiId: "api_…", permissions: ["orders.read"] });
 * if (verdict.valid) console.log(verdict.identity?.externalId);
 */
export function createKeyward(options: KeywardOptions): KeywardClient {
  const baseUrl = checkedBaseUrl(options.baseUrl);
  const keyProblem = typeof options.apiKey === "string" ? rootKeyProblem(options.apiKey) : null;
  if (keyProblem !== null) throw new TypeError(keyProblem);
  const retries = options.retries ?? DEFAULT_RETRIES;
  if (!Number.isInteger(retries) || retries < 0) throw new RangeError("retries must be a whole number ≥ 0");
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new RangeError("timeoutMs must be > 0");
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const rateLimit = options.retryOnRateLimit;

  const transport = createTransport({
    fetch: fetchImpl,
    apiKey: options.apiKey,
    headers: options.headers,
    timeoutMs,
    retries,
    backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    rateLimitMaxWaitMs: !rateLimit ? null : rateLimit === true ? DEFAULT_RATE_LIMIT_WAIT_MS : (rateLimit.maxWaitMs ?? DEFAULT_RATE_LIMIT_WAIT_MS),
    pacer: options.pacing ? new Pacer(options.pacing === true ? {} : options.pacing) : null,
    kindOf: (procedure) => (PROCEDURES as Record<string, "query" | "mutation">)[procedure],
  });
  const trpc = createTRPCUntypedClient<AppRouter>({
    links: [
      httpLink({
        url: `${baseUrl}/api/trpc`,
        headers: ({ op }) => (typeof op.context.idempotencyKey === "string" ? { "Idempotency-Key": op.context.idempotencyKey } : {}),
        fetch: (url, init) => transport(String(url), (init ?? {}) as RequestInit),
      }),
    ],
  });

  const root: Record<string, unknown> = {};
  for (const [path, kind] of Object.entries(PROCEDURES)) {
    const parts = path.split(".");
    let namespace = root;
    for (const part of parts.slice(0, -1)) namespace = (namespace[part] ??= {}) as Record<string, unknown>;
    namespace[parts.at(-1)!] = async (input?: unknown, callOptions: CallOptions = {}) => {
      try {
        const request = { signal: callOptions.signal, context: callOptions.idempotencyKey === undefined ? {} : { idempotencyKey: callOptions.idempotencyKey } };
        return await (kind === "query" ? trpc.query(path, input, request) : trpc.mutation(path, input, request));
      } catch (error) {
        throw toKeywardError(error, path);
      }
    };
  }
  return root as unknown as KeywardClient;
}

function checkedBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`baseUrl is not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError("baseUrl must be an http(s) URL");
  if (url.username || url.password || url.search || url.hash) throw new TypeError("baseUrl must not carry credentials, a query or a fragment");
  return url.href.replace(/\/+$/, "");
}

interface KeywardErrorData {
  keywardCode?: unknown;
  httpStatus?: unknown;
  fieldErrors?: Record<string, string[] | undefined>;
}

/** Whatever a call threw, as the one KeywardError: the server's stable code when it sent one. */
function toKeywardError(error: unknown, procedure: string): KeywardError {
  if (error instanceof KeywardError) return error;
  if (error instanceof TRPCClientError) {
    if (error.cause instanceof KeywardError) return error.cause;
    const data = (error.data ?? {}) as KeywardErrorData;
    const response = (error.meta as { response?: Response } | undefined)?.response;
    if (!data.keywardCode && !response && isAbort(error.cause)) {
      return new KeywardError("aborted", `${procedure}: aborted`, { status: 0, procedure, cause: error });
    }
    const status = typeof data.httpStatus === "number" ? data.httpStatus : (response?.status ?? 0);
    const code = typeof data.keywardCode === "string" ? data.keywardCode : "invalid_response";
    return new KeywardError(code, error.message, {
      status,
      requestId: response?.headers.get("x-request-id") ?? null,
      retryAfter: parseRetryAfter(response?.headers.get("retry-after") ?? null),
      fieldErrors: data.fieldErrors,
      procedure,
      cause: error,
    });
  }
  if (isAbort(error)) return new KeywardError("aborted", `${procedure}: aborted`, { status: 0, procedure, cause: error });
  return new KeywardError("invalid_response", `${procedure}: ${error instanceof Error ? error.message : String(error)}`, { status: 0, procedure, cause: error });
}

function isAbort(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === "AbortError";
}
