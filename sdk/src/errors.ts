/**
 * Stable codes Keyward sends (`error.data.keywardCode` on tRPC, `code` in problem+json), with the
 * HTTP status each comes with. New codes may appear in a minor release: match on the ones you
 * handle and treat the rest by `status`.
 */
export const SERVER_ERROR_CODES = {
  /** 400 when tRPC's input validation refuses it, 422 from the services and the REST API. */
  validation_failed: 422,
  batch_too_large: 400,
  credentials_in_url: 400,
  /** The Idempotency-Key header is not 1–255 printable ASCII characters. */
  invalid_idempotency_key: 400,
  policy_violation: 422,
  unauthorized: 401,
  missing_credentials: 401,
  invalid_key: 401,
  key_revoked: 401,
  key_disabled: 401,
  key_expired: 401,
  invalid_credentials: 401,
  ip_not_allowed: 403,
  forbidden: 403,
  insufficient_scope: 403,
  self_modification_forbidden: 403,
  not_a_root_key: 403,
  csrf_rejected: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  invalid_state: 409,
  not_recoverable: 409,
  /** A call with this Idempotency-Key is still running; the SDK waits and retries a few times itself. */
  idempotency_key_in_use: 409,
  /** This Idempotency-Key was used within 24 h for another input. */
  idempotency_key_reused: 422,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid_json: 400,
  rate_limited: 429,
  too_many_requests: 429,
  too_many_failures: 429,
  internal_error: 500,
  service_unavailable: 503,
} as const;

/** Codes the SDK itself raises when no usable answer arrived (`status` is then 0, or the HTTP status of an unreadable answer). */
export const CLIENT_ERROR_CODES = ["network_error", "timeout", "aborted", "invalid_response"] as const;

export type ServerErrorCode = keyof typeof SERVER_ERROR_CODES;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];
/** Every code a `KeywardError` can carry; `string & {}` keeps codes added by newer servers usable without losing autocompletion. */
export type KeywardErrorCode = ServerErrorCode | ClientErrorCode | (string & {});

export interface KeywardErrorInit {
  /** HTTP status; 0 when no response arrived. */
  status: number;
  requestId?: string | null;
  retryAfter?: number | null;
  fieldErrors?: Record<string, string[] | undefined>;
  /** The procedure called, e.g. `keys.create`. */
  procedure?: string | null;
  cause?: unknown;
}

/** The one error the SDK throws, whatever went wrong. */
export class KeywardError extends Error {
  override readonly name = "KeywardError";
  /** Keyward's stable code (`key_revoked`, `insufficient_scope`, …) or the SDK's (`network_error`, `timeout`, `aborted`, `invalid_response`). */
  readonly code: KeywardErrorCode;
  /** HTTP status of the answer; 0 when none arrived (network error, timeout, abort). */
  readonly status: number;
  /** The server's `X-Request-Id`: quote it when asking an operator about this call. */
  readonly requestId: string | null;
  /** Seconds to wait before trying again, from `Retry-After` (429 and 503), else null. */
  readonly retryAfter: number | null;
  /** Per-field messages of a validation failure (`validation_failed`). */
  readonly fieldErrors: Record<string, string[] | undefined> | null;
  /** The procedure that failed, e.g. `keys.create`. */
  readonly procedure: string | null;

  constructor(code: KeywardErrorCode, message: string, init: KeywardErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = code;
    this.status = init.status;
    this.requestId = init.requestId ?? null;
    this.retryAfter = init.retryAfter ?? null;
    this.fieldErrors = init.fieldErrors ?? null;
    this.procedure = init.procedure ?? null;
  }
}

export function isKeywardError(error: unknown): error is KeywardError {
  return error instanceof KeywardError;
}

/**
 * `Retry-After` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); null when absent
 * or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  // An HTTP date starts with the day's name ("Wed, 25 Nov 2026 …"); Date.parse alone takes "-5" for a year.
  if (!/^[A-Za-z]{3}/.test(trimmed)) return null;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}
