import { isAddressAllowed } from "../lib/ip";
import type { ErrorCode } from "./errors.server";
import type { AuthenticatedKey } from "./keys.server";
import type { Keyward } from "./keyward.server";
import type { RateLimitDecision } from "./rate-limiter.server";
import type { SecurityEventKind, Severity } from "./security-events.server";
import type { KeyAdmission } from "./verification-cache.server";

/**
 * The one admission of a key presented to Keyward's own API (REST, tRPC, the event stream): every
 * surface calls `admitRootKey` and only translates its closed result into its own shape.
 */

/** Why a presented key was refused: the stable code (also the security event's kind) and what the client is told. */
export interface KeyRefusal {
  code: ErrorCode & SecurityEventKind;
  detail: string;
  /** The presented key's id when it was identified (revoked, disabled, expired, issued, limited): usage counts the refusal. */
  keyId: string | null;
  /** Set when the caller's address must wait (too_many_failures); a rate-limited key's wait is in its limit's headers. */
  retryAfterSeconds?: number;
}

export type RootKeyAdmission =
  | { admitted: true; key: AuthenticatedKey; limit: RateLimitDecision | null }
  | { admitted: false; refusal: KeyRefusal; limit: RateLimitDecision | null };

export interface AdmissionFacts {
  clientIp: string;
  /** Requests this admission stands for (a tRPC batch of N calls consumes N from the key's limit). */
  cost?: number;
}

/** Keys refused by what the key service found: what the client is told, the event's severity. */
const STATUS_REFUSALS = {
  INVALID: { code: "invalid_key", detail: "The API key is not valid", severity: "warning" },
  REVOKED: { code: "key_revoked", detail: "The API key has been revoked", severity: "warning" },
  DISABLED: { code: "key_disabled", detail: "The API key is disabled", severity: "info" },
  EXPIRED: { code: "key_expired", detail: "The API key has expired", severity: "info" },
} as const satisfies Record<string, { code: ErrorCode & SecurityEventKind; detail: string; severity: Severity }>;

type Container = Pick<Keyward, "verifier" | "authFailures" | "limiter" | "securityEvents">;

/**
 * In order: the key's format, the failed-auth throttle guarding the lookup, the lookup (cache or
 * one query), its status, its kind (an issued key never authenticates here: it belongs to an API
 * and is only ever verified), the per-key rate limit (which every later refusal spends too), and
 * the IP allowlist. Each refusal is recorded as a security event. The scope an operation needs is
 * the caller's to check (see app/lib/operations.ts).
 */
export async function admitRootKey(keyward: Container, presented: string, { clientIp, cost = 1 }: AdmissionFacts): Promise<RootKeyAdmission> {
  const admission = await keyward.verifier.admit(presented, { clientIp, failures: keyward.authFailures });
  const refuse = (refusal: KeyRefusal, limit: RateLimitDecision | null = null): RootKeyAdmission => ({ admitted: false, refusal, limit });
  if (admission.code !== "VALID") return refuse(refuseAdmission(keyward, clientIp, admission));
  const { key } = admission;

  if (key.apiId !== null) {
    keyward.securityEvents.record({ kind: "not_a_root_key", severity: "warning", keyId: key.id, clientIp, details: { apiId: key.apiId } });
    return refuse({
      code: "not_a_root_key",
      detail: "This key was issued for one of your APIs: it can be verified (POST /api/v1/verify), not used to call Keyward. Use a root key (kw_…) here.",
      keyId: key.id,
    });
  }

  const limit = (await keyward.limiter?.consume(key.id, key.rateLimit, cost)) ?? null;
  if (limit && !limit.allowed) {
    keyward.securityEvents.record({ kind: "rate_limited", severity: "info", keyId: key.id, clientIp });
    return refuse({ code: "rate_limited", detail: "This key has used up its request budget for now; retry after the time in Retry-After", keyId: key.id }, limit);
  }
  if (!isAddressAllowed(clientIp, key.allowedIps)) {
    keyward.securityEvents.record({ kind: "ip_not_allowed", severity: "warning", keyId: key.id, clientIp });
    return refuse({ code: "ip_not_allowed", detail: `This key may not be used from your address (${clientIp})`, keyId: key.id }, limit);
  }
  return { admitted: true, key, limit };
}

/** A refusal by the lookup (or the throttle before it), recorded as a security event. Also names a key leaked in a URL. */
export function refuseAdmission(keyward: Pick<Keyward, "securityEvents">, clientIp: string, admission: Exclude<KeyAdmission, { code: "VALID" }>): KeyRefusal {
  if (admission.code === "THROTTLED") {
    const { retryAfterSeconds } = admission;
    keyward.securityEvents.record({ kind: "too_many_failures", severity: "warning", clientIp, details: { retryAfterSeconds } });
    return { code: "too_many_failures", detail: "Too many failed authentications from your address; wait before trying again", keyId: null, retryAfterSeconds };
  }
  const refusal = STATUS_REFUSALS[admission.code];
  const keyId = admission.code === "INVALID" ? null : admission.key.id;
  keyward.securityEvents.record({ kind: refusal.code, severity: refusal.severity, keyId, clientIp });
  return { code: refusal.code, detail: refusal.detail, keyId };
}
