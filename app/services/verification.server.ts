import type { ReportVerificationsInput, VerifyKeyInput } from "../lib/api-schemas";
import type { Actor } from "./actor.server";
import { KeywardError } from "./errors.server";
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

/** Where a guard's cached admissions are logged: the report that told of them. */
export const REPORT_PATH = "/api/v1/verify/report";
/** How far back a reported admission may be dated; an older one is taken as this old (a guard that could not report for a day). */
const MAX_REPORT_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * Requests a guard admitted on a verdict it cached (ADR 21), recorded exactly as VALID
 * verifications of their keys: counted per key, API and identity, one request-log line each, the
 * key's last use and request count moved. Only for issued keys the caller may manage; if any named
 * key is not one, the report is refused whole (404, as for a key the caller may not see) and nothing
 * is recorded. The times are the guard's clock, kept within the last 24 hours and not past now.
 */
export async function reportGuardAdmissions(
  keyward: Pick<Keyward, "keys" | "usage" | "clock">,
  input: ReportVerificationsInput,
  facts: VerificationFacts,
): Promise<{ recorded: number }> {
  const keyIds = [...new Set(input.admissions.map((admission) => admission.keyId))];
  const keys = await keyward.keys.issuedOwnership(facts.caller, keyIds);
  const unknown = keyIds.filter((id) => !keys.has(id));
  if (unknown.length > 0) throw new KeywardError("not_found", `No issued key you may manage has the id ${unknown.join(", ")}`);

  const now = keyward.clock.now().getTime();
  const caller = facts.caller;
  let recorded = 0;
  for (const { keyId, at, ip, count } of input.admissions) {
    const { apiId, identityId } = keys.get(keyId)!;
    keyward.usage?.recordVerification({
      keyId,
      apiId,
      identityId,
      outcome: "VALID",
      at: new Date(Math.min(now, Math.max(now - MAX_REPORT_AGE_MS, Date.parse(at)))),
      ip: ip ?? null,
      tags: [],
      rootKeyId: caller.kind === "user" ? (caller.keyId ?? null) : null,
      requestId: caller.meta?.requestId ?? null,
      // Answered by the guard from memory: Keyward spent no time on these requests.
      durationMs: 0,
      count,
      path: REPORT_PATH,
    });
    recorded += count;
  }
  return { recorded };
}
