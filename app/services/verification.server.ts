import type { VerifyKeyInput } from "../lib/api-schemas";
import type { Actor } from "./actor.server";
import type { Keyward } from "./keyward.server";
import type { VerifyResult } from "./verification-cache.server";

/** What the surface knows about a verification request besides its body. */
export interface VerificationFacts {
  /** The root key (or session) asking; its `meta` carries the request id, its `keyId` the root key. */
  caller: Actor;
}

/**
 * The one verification of an issued key, shared by REST `/api/v1/verify` and tRPC `verify` (and so
 * by the SDK's verify and guard): the verdict from the verifier, then what a verification records.
 */
export async function verifyIssuedKey(keyward: Pick<Keyward, "verifier" | "usage" | "securityEvents" | "clock">, input: VerifyKeyInput, facts: VerificationFacts): Promise<VerifyResult> {
  const { key, apiId, permissions, ip } = input;
  return keyward.verifier.verify(key, { caller: facts.caller, apiId, permissions, ip });
}
