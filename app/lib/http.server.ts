import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { ZodError, type z, type ZodType } from "zod";
import { isDatabaseUnavailable, isUnstorableText, UNSTORABLE_TEXT_MESSAGE } from "../../db/errors";
import { logger } from "./logger.server";
import { ERROR_STATUS, isKeywardError, type ErrorCode } from "../services/errors.server";

/**
 * The REST edge: RFC 9457 problem+json for every error, the one place that maps Keyward's
 * stable error codes to HTTP statuses, body reading with its limits, and the method guard.
 * X-Request-Id is set on every response by the HTTP server (app/server/http.ts), not here:
 * setting it twice would send it twice.
 */

export const MAX_BODY_BYTES = 64 * 1024;

/** Codes only the HTTP edge produces; the services' own codes and statuses are in ERROR_STATUS. */
const EDGE_STATUS = {
  invalid_json: 400,
  credentials_in_url: 400,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  internal_error: 500,
} as const;

export type ProblemCode = ErrorCode | keyof typeof EDGE_STATUS;

export const PROBLEM_STATUS: Record<ProblemCode, number> = { ...ERROR_STATUS, ...EDGE_STATUS };

export const PROBLEM_TITLES: Record<ProblemCode, string> = {
  validation_failed: "Validation failed",
  batch_too_large: "Batch too large",
  policy_violation: "Refused by policy",
  unauthorized: "Unauthorized",
  missing_credentials: "Missing credentials",
  invalid_key: "Invalid API key",
  key_revoked: "API key revoked",
  key_disabled: "API key disabled",
  key_expired: "API key expired",
  invalid_credentials: "Invalid credentials",
  ip_not_allowed: "Address not allowed",
  not_a_root_key: "Not a root key",
  forbidden: "Forbidden",
  insufficient_scope: "Insufficient scope",
  self_modification_forbidden: "A key cannot change its own restrictions",
  csrf_rejected: "Cross-site request refused",
  not_found: "Not found",
  conflict: "Conflict",
  invalid_state: "Invalid state",
  not_recoverable: "Key not recoverable",
  invalid_idempotency_key: "Malformed Idempotency-Key",
  idempotency_key_in_use: "Idempotency-Key in use",
  idempotency_key_reused: "Idempotency-Key reused",
  too_many_requests: "Too many requests",
  service_unavailable: "Service unavailable",
  invalid_json: "Malformed JSON",
  credentials_in_url: "Credentials in URL",
  method_not_allowed: "Method not allowed",
  payload_too_large: "Payload too large",
  unsupported_media_type: "Unsupported media type",
  rate_limited: "Rate limited",
  too_many_failures: "Too many failed attempts",
  internal_error: "Internal error",
};

/** Where a code is explained for people: the API docs page (a URI reference, as RFC 9457 allows). */
export const problemType = (code: ProblemCode) => `/docs/api#error-${code}`;

export interface FieldError {
  /** Dotted path into the request (`scopes.0`); `body` for the body as a whole. */
  field: string;
  message: string;
}

interface ProblemOptions {
  headers?: Record<string, string>;
  /** Offending fields, for validation failures. */
  errors?: FieldError[];
  /** Further members (RFC 9457 extensions), e.g. `requiredScope`. */
  extensions?: Record<string, unknown>;
}

/** A refusal raised at the HTTP edge; `apiRoute` turns it into problem+json. */
export class HttpProblem extends Error {
  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly options: ProblemOptions = {},
  ) {
    super(detail);
    this.name = "HttpProblem";
  }
}

export function problem(code: ProblemCode, detail: string, requestId: string, options: ProblemOptions = {}): Response {
  const status = PROBLEM_STATUS[code];
  const body = {
    ...options.extensions,
    type: problemType(code),
    title: PROBLEM_TITLES[code],
    status,
    detail,
    code,
    requestId,
    ...(options.errors ? { errors: options.errors } : {}),
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/problem+json", "Cache-Control": "no-store", ...options.headers },
  });
}

export function json(data: unknown, { status = 200, headers }: { status?: number; headers?: Record<string, string> } = {}): Response {
  return new Response(JSON.stringify(data), {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers },
  });
}

export function zodFieldErrors(error: ZodError): FieldError[] {
  return error.issues.map((issue) => ({ field: issue.path.map(String).join(".") || "body", message: issue.message }));
}

/** What a 503 for an unreachable database asks clients to wait: about how long a restart or failover takes. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Any error a handler throws, as the response the client gets. Surprises are logged and never described. */
export function toProblem(error: unknown, requestId: string): Response {
  if (error instanceof HttpProblem) return problem(error.code, error.detail, requestId, error.options);
  if (isKeywardError(error)) {
    const field = typeof error.details?.field === "string" ? error.details.field : undefined;
    const required = typeof error.details?.required === "string" ? error.details.required : undefined;
    return problem(error.code, error.message, requestId, {
      errors: field ? [{ field, message: error.message }] : undefined,
      extensions: required ? { requiredScope: required } : undefined,
    });
  }
  if (error instanceof ZodError) {
    return problem("validation_failed", "The request does not match the schema", requestId, { errors: zodFieldErrors(error) });
  }
  if (isUnstorableText(error)) return problem("validation_failed", UNSTORABLE_TEXT_MESSAGE, requestId);
  if (isDatabaseUnavailable(error)) {
    return problem("service_unavailable", "The database is not answering right now; retry after the time in Retry-After", requestId, {
      headers: { "Retry-After": String(DATABASE_RETRY_AFTER_SECONDS) },
    });
  }
  logger.error({ requestId, err: error }, "unexpected error in an API route");
  return problem("internal_error", "Something went wrong on our side; quote the request id if you report it", requestId);
}

/** Validates `value` against `schema`; a violation is a 422 listing the offending fields. */
export function parseInput<S extends ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new HttpProblem("validation_failed", "The request does not match the schema", { errors: zodFieldErrors(parsed.error) });
  }
  return parsed.data;
}

/**
 * Query parameters as an object for a schema: the first value of each name, and the `numeric`
 * ones as numbers when they look like one (otherwise left as text for the schema to refuse).
 */
export function queryObject(url: URL, numeric: readonly string[] = []): Record<string, unknown> {
  const first = new Map<string, unknown>();
  for (const [name, value] of url.searchParams) {
    if (!first.has(name)) first.set(name, numeric.includes(name) && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value);
  }
  // fromEntries defines own properties, so a parameter named `__proto__` stays a plain field.
  return Object.fromEntries(first);
}

/**
 * Reads a JSON body of at most 64 KiB (an empty body reads as `{}`) and validates it:
 * too large → 413, not JSON → 400, schema violations → 422.
 */
export async function readJson<S extends ZodType>(request: Request, schema: S): Promise<z.output<S>> {
  const text = await readBodyText(request);
  if (text.trim() === "" && !request.headers.get("content-type")) return parseInput(schema, {});
  requireJsonContentType(request);
  if (text.trim() === "") return parseInput(schema, {});
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // The parser's own message quotes the body; only its position is passed on.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new HttpProblem("invalid_json", `The body is not valid JSON${position ? ` (at character ${position})` : ""}`);
  }
  // Valid but absurdly deep JSON would overflow the stack of every recursive walk after this one.
  if (nestingDepth(text) > MAX_JSON_DEPTH) {
    throw new HttpProblem("validation_failed", "The body is nested too deeply", {
      errors: [{ field: "body", message: `JSON may nest at most ${MAX_JSON_DEPTH} levels` }],
    });
  }
  // `"\ud800"` parses, but Postgres refuses it in jsonb: not interoperable text (RFC 8259 §8.2).
  if (hasLoneSurrogate(value)) throw new HttpProblem("invalid_json", "The body has a string with an unpaired UTF-16 surrogate (\\uD800–\\uDFFF)");
  return parseInput(schema, value);
}

export const MAX_JSON_DEPTH = 32;

/** `application/json` or any `+json` type (`application/merge-patch+json`), parameters (`; charset=utf-8`) aside. */
const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;

/**
 * A body is JSON only when it says so: `text/plain`, a form, or a body without any Content-Type is
 * 415, so a browser's "simple" cross-site form post can never act, and a client sending the wrong
 * type learns it at once instead of having its body read by luck.
 */
function requireJsonContentType(request: Request): void {
  const type = request.headers.get("content-type")?.split(";")[0]!.trim() ?? "";
  if (!JSON_MEDIA_TYPE.test(type)) {
    throw new HttpProblem(
      "unsupported_media_type",
      type ? `The body must be JSON (Content-Type: application/json), not ${type.slice(0, 100)}` : "The body must be JSON: send it with Content-Type: application/json",
    );
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Walks parsed JSON (its depth already bounded) for strings, keys included, that are not valid Unicode. */
function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === "string") return LONE_SURROGATE.test(value);
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  if (value !== null && typeof value === "object") {
    return Object.entries(value).some(([key, item]) => LONE_SURROGATE.test(key) || hasLoneSurrogate(item));
  }
  return false;
}

/** Deepest nesting of arrays and objects in JSON text, brackets inside strings aside. */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 92) i++; // backslash: skip the escaped character
      else if (char === 34) inString = false;
    } else if (char === 34) {
      inString = true;
    } else if (char === 91 || char === 123) {
      deepest = Math.max(deepest, ++depth);
    } else if (char === 93 || char === 125) {
      depth--;
    }
  }
  return deepest;
}

// The rest of the body is never read, so the connection cannot carry another request.
const tooLarge = () => new HttpProblem("payload_too_large", `The body is larger than ${MAX_BODY_BYTES} bytes`, { headers: { Connection: "close" } });

/** What `readCappedBody` returns for a body past the cap. */
export const BODY_TOO_LARGE = Symbol("body too large");

/**
 * The body's bytes, read as they arrive and given up as soon as Content-Length or the bytes that
 * actually came pass `maxBytes`, so no caller ever holds more: the one capped reader of REST bodies,
 * tRPC bodies and dashboard forms. Null when there is no body.
 */
export async function readCappedBody(request: Request, maxBytes = MAX_BODY_BYTES): Promise<Uint8Array | null | typeof BODY_TOO_LARGE> {
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) return BODY_TOO_LARGE;
  if (!request.body) return null;
  // Content-Length may be absent (chunked) or wrong: count what actually arrives.
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks);
    size += value.byteLength;
    if (size > maxBytes) {
      // Not cancel(): that destroys the socket under the client before it can read the 413.
      reader.releaseLock();
      return BODY_TOO_LARGE;
    }
    chunks.push(value);
  }
}

async function readBodyText(request: Request): Promise<string> {
  const body = await readCappedBody(request);
  if (body === BODY_TOO_LARGE) throw tooLarge();
  if (body === null) return "";
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw new HttpProblem("invalid_json", "The body is not valid UTF-8");
  }
}

/** The answer for a path under /api/v1 that no route serves. */
export const unknownEndpoint = (request: Request) =>
  new HttpProblem("not_found", `No API endpoint at ${new URL(request.url).pathname}; the endpoints are listed in /api/v1/openapi.json`);

// Routes ----------------------------------------------------------------------------------------

export type ApiArgs = LoaderFunctionArgs | ActionFunctionArgs;
export type ApiHandler = (args: ApiArgs) => Promise<Response>;
type Method = "GET" | "POST" | "PATCH" | "DELETE";

/**
 * A Remix resource route from a method table: GET (and HEAD) go to the loader, the rest to the
 * action; any other method is 405 with `Allow`; anything thrown becomes problem+json.
 */
export function apiRoute(handlers: Partial<Record<Method, ApiHandler>>): { loader: ApiHandler; action: ApiHandler } {
  const allowed = (Object.keys(handlers) as Method[]).flatMap((method) => (method === "GET" ? ["GET", "HEAD"] : [method]));
  const dispatch: ApiHandler = async (args) => {
    const method = args.request.method.toUpperCase();
    const handler = handlers[(method === "HEAD" ? "GET" : method) as Method];
    try {
      if (!handler || !allowed.includes(method)) {
        throw new HttpProblem("method_not_allowed", `${method} is not supported here; use ${allowed.join(", ")}`, {
          headers: { Allow: allowed.join(", ") },
        });
      }
      return await handler(args);
    } catch (error) {
      return toProblem(error, args.context.requestId);
    }
  };
  return { loader: dispatch, action: dispatch };
}
