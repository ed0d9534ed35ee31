import type { VerifyKeyInput } from "../lib/api-schemas";
import type { Actor } from "./actor.server";
import type { Keyward } from "./keyward.server";
import type { SecurityEventKind, Severity } from "./security-events.server";
import type { VerifyCode, VerifyResult } from "./verification-cache.server";

/** What the surface knows about a verification request besides its body. */
export interface VerificationFacts {
  /** The root key (or session) asking; its `meta` carries the request id, its `keyId` the root key. */
  caller: Actor;
}

type IdentifiedResult = Exclude<VerifyResult, { code: "INVALID" }>;

/**
 * Refusals of an identified key, recorded as security events exactly like refusals on Keyward's own
 * API (same kinds where there is one), so the alert rules see them.
 */
const REFUSAL_EVENTS: Record<Exclude<VerifyCode, "VALID" | "INVALID">, { kind: SecurityEventKind; severity: Severity }> = {
  REVOKED: { kind: "key_revoked", severity: "warning" },
  EXPIRED: { kind: "key_expired", severity: "info" },
  DISABLED: { kind: "key_disabled", severity: "info" },
  IP_NOT_ALLOWED: { kind: "ip_not_allowed", severity: "warning" },
  RATE_LIMITED: { kind: "rate_limited", severity: "info" },
  INSUFFICIENT_PERMISSIONS: { kind: "insufficient_permissions", severity: "info" },
  WRONG_API: { kind: "wrong_api", severity: "warning" },
  USAGE_EXCEEDED: { kind: "usage_exceeded", severity: "info" },
};

/**
 * The one verification of an issued key, shared by REST `/api/v1/verify` and tRPC `verify` (and so
 * by the SDK's verify and guard): the verdict from the verifier, then what a verification records.
 * INVALID records nothing: it names no key (and must not tell an unknown key from another owner's).
 */
export async function verifyIssuedKey(keyward: Pick<Keyward, "verifier" | "usage" | "securityEvents" | "clock">, input: VerifyKeyInput, facts: VerificationFacts): Promise<VerifyResult> {
  const started = performance.now();
  const { key, apiId, permissions, ip, cost, ratelimits } = input;
  const result = await keyward.verifier.verify(key, { caller: facts.caller, apiId, permissions, ip, cost, ratelimits });
  if (result.code !== "INVALID") recordVerification(keyward, result, input, facts.caller, performance.now() - started);
  return result;
}

/** Usage, last use and the request log through the usage recorder (in memory); a refusal is also a security event. */
function recordVerification(
  keyward: Pick<Keyward, "usage" | "securityEvents" | "clock">,
  result: IdentifiedResult,
  input: VerifyKeyInput,
  caller: Actor,
  durationMs: number,
): void {
  const ip = input.ip ?? null;
  keyward.usage?.recordVerification({
    keyId: result.keyId,
    apiId: result.apiId,
    identityId: result.identity?.id ?? null,
    outcome: result.code,
    at: keyward.clock.now(),
    ip,
    tags: input.tags ?? [],
    rootKeyId: caller.kind === "user" ? (caller.keyId ?? null) : null,
    requestId: caller.meta?.requestId ?? null,
    durationMs,
  });
  if (result.code === "VALID") return;
  const event = REFUSAL_EVENTS[result.code];
  keyward.securityEvents.record({ ...event, keyId: result.keyId, clientIp: ip, details: { apiId: result.apiId, via: "verify" } });
}
