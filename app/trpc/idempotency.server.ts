import type { Actor } from "../services/actor.server";
import { isKeywardError, KeywardError, type ErrorCode } from "../services/errors.server";
import { canonicalJson, checkIdempotencyKey, idempotencyCaller, requestFingerprint } from "../services/idempotency.server";
import type { Keyward } from "../services/keyward.server";

interface IdempotencyContext {
  keyward: Keyward;
  request: Request;
  actor: Actor;
  resHeaders?: Headers;
}

/**
 * The tRPC side of idempotency keys (the SDK's door), with the REST side's store and semantics:
 * an `Idempotency-Key` header on a single (unbatched) mutation call makes its result, or its 4xx
 * refusal, replayable for 24 h; the fingerprint is the procedure and its parsed input. A batch
 * shares one header, so its second call would differ from the first: send keys on single calls.
 */
export async function idempotentCall<T>(ctx: IdempotencyContext, procedure: string, input: unknown, work: () => Promise<T>): Promise<T> {
  const header = ctx.request.headers.get("idempotency-key");
  if (header === null || ctx.actor.kind !== "user") return work();
  const key = checkIdempotencyKey(header);
  const fingerprint = requestFingerprint("POST", `/api/trpc/${procedure}`, `json:${canonicalJson(input ?? null)}`);
  const result = await ctx.keyward.idempotency.run(idempotencyCaller(ctx.actor.userId), key, fingerprint, async () => {
    try {
      return { status: 200, body: JSON.stringify((await work()) ?? null) };
    } catch (error) {
      if (isKeywardError(error) && error.status < 500) return { status: error.status, body: JSON.stringify({ code: error.code, message: error.message, details: error.details }) };
      throw error;
    }
  });
  if (result.replayed) ctx.resHeaders?.set("Idempotent-Replayed", "true");
  if (result.status >= 400) {
    const refusal = JSON.parse(result.body) as { code: ErrorCode; message: string; details?: Record<string, unknown> };
    throw new KeywardError(refusal.code, refusal.message, refusal.details);
  }
  return JSON.parse(result.body) as T;
}
