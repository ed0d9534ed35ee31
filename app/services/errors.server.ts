/**
 * Every failure a service reports carries a stable `code`. The edges map codes to
 * transport status in exactly one place each (tRPC: app/trpc/trpc.server.ts; HTTP: app/lib/http.server.ts).
 */
export const ERROR_STATUS = {
  validation_failed: 422,
  batch_too_large: 400,
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
  conflict: 409,
  invalid_state: 409,
  not_recoverable: 409,
  idempotency_key_in_use: 409,
  idempotency_key_reused: 422,
  too_many_requests: 429,
  rate_limited: 429,
  too_many_failures: 429,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

const BRAND = Symbol.for("keyward.error");

export class KeywardError extends Error {
  readonly status: number;
  readonly [BRAND] = true;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "KeywardError";
    this.status = ERROR_STATUS[code];
  }
}

/** Recognises a KeywardError even from another copy of this module (a rebuilt bundle in development). */
export function isKeywardError(error: unknown): error is KeywardError {
  return typeof error === "object" && error !== null && (error as { [BRAND]?: boolean })[BRAND] === true;
}

export const notFound = (what: string) => new KeywardError("not_found", `${what} not found`);
