/**
 * Verification of keys issued for your APIs: what `verify` takes and answers. Typed here rather
 * than read from the generated router types so the answer is a discriminated union on `valid` and
 * `code`, which narrowing in your handler relies on.
 */

/** Every verdict `verify` can give. */
export type VerifyCode = "VALID" | "INVALID" | "REVOKED" | "DISABLED" | "EXPIRED" | "IP_NOT_ALLOWED" | "INSUFFICIENT_PERMISSIONS" | "WRONG_API" | "RATE_LIMITED" | "USAGE_EXCEEDED";

/** What a request needs: every permission of a list, or at least one of `anyOf`. Wildcard grants (`orders.*`) and the API's implications count. */
export type PermissionQuery = string[] | { anyOf: string[] };

export interface VerifyInput {
  /** The key your caller presented, exactly as received. Never put it in a URL. */
  key: string;
  /** The API your service is: a key of any other API is refused (`WRONG_API`). */
  apiId?: string;
  /** What the request needs; missing ones make `INSUFFICIENT_PERMISSIONS` with `missing`. */
  permissions?: PermissionQuery;
  /** The address your caller came from. A key with an IP allowlist is refused (`IP_NOT_ALLOWED`) without it. */
  ip?: string;
  /** Credits this request costs a key that has credits (default 1; 0 checks without charging). Fewer left → `USAGE_EXCEEDED`, nothing taken. */
  cost?: number;
  /**
   * The named limits to apply, each with its cost (default 1). Omitted = every limit of the key and
   * of its identity, cost 1. A key limit and an identity limit of the same name both apply; a name
   * neither has is ignored.
   */
  ratelimits?: { name: string; cost?: number }[];
}

/** A named limit after this verification: its size, what is left of the window and when it ends (ISO 8601). */
export interface RateLimitState {
  name: string;
  limit: number;
  remaining: number;
  resetAt: string;
}

/** The customer a key was issued to: your own `externalId` for them, and their metadata. */
export interface VerifiedIdentity {
  id: string;
  externalId: string;
  meta: Record<string, unknown>;
}

/** What a verification tells about an issued key your root key may manage. */
export interface VerifiedKey {
  keyId: string;
  apiId: string;
  name: string;
  identity: VerifiedIdentity | null;
  /** The permissions granted to the key, as granted (wildcards included). */
  permissions: string[];
  meta: Record<string, unknown>;
  expiresAt: string | null;
  /** The key's credits left after this verification (a refusal took nothing); null = the key has no credits (unlimited). */
  credits: { remaining: number } | null;
  /** The named limits this verification applied (the key's, then its identity's); empty when it was refused before them. */
  ratelimits: RateLimitState[];
}

/**
 * The verdict on a presented key. `INVALID` carries nothing else: it is the answer for an unknown
 * key, a root key, and a key of an API your root key may not see alike.
 */
export type VerifyResult =
  | { valid: false; code: "INVALID" }
  | ({ valid: true; code: "VALID" } & VerifiedKey)
  | ({ valid: false; code: "INSUFFICIENT_PERMISSIONS"; missing: string[] } & VerifiedKey)
  | ({ valid: false; code: "RATE_LIMITED"; /** The first limit that refused the request. */ ratelimit: string } & VerifiedKey)
  | ({ valid: false; code: "REVOKED" | "DISABLED" | "EXPIRED" | "IP_NOT_ALLOWED" | "WRONG_API" | "USAGE_EXCEEDED" } & VerifiedKey);
