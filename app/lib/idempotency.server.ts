import type { KeyHandlerArgs } from "./api-key-middleware.server";
import { BODY_TOO_LARGE, HttpProblem, MAX_BODY_BYTES, readCappedBody, toProblem } from "./http.server";
import { canonicalJson, checkIdempotencyKey, idempotencyCaller, requestFingerprint } from "../services/idempotency.server";

/** Set on a response that is the stored answer to an earlier request with the same Idempotency-Key. */
export const REPLAYED_HEADER = "Idempotent-Replayed";

/**
 * Makes a state-changing REST handler honour `Idempotency-Key` (docs/decisions/0023-idempotency-keys.md).
 * Without the header the handler runs as before. With it, the body is read once (capped), the
 * request's fingerprint (method, path, canonical JSON body) is claimed for the calling user, and
 * the handler's 2xx or 4xx answer is kept encrypted for 24 h and replayed with
 * `Idempotent-Replayed: true`; a 5xx is not kept, so the client may retry with the same key.
 */
export function idempotent(handler: (args: KeyHandlerArgs) => Promise<Response>): (args: KeyHandlerArgs) => Promise<Response> {
  return async (args) => {
    const { request, context, principal } = args;
    const header = request.headers.get("idempotency-key");
    if (header === null) return handler(args);
    const key = checkIdempotencyKey(header);

    const bytes = await readCappedBody(request);
    if (bytes === BODY_TOO_LARGE) {
      throw new HttpProblem("payload_too_large", `The body is larger than ${MAX_BODY_BYTES} bytes`, { headers: { Connection: "close" } });
    }
    const fingerprint = requestFingerprint(request.method, new URL(request.url).pathname, canonicalBody(bytes));
    // The handler reads the same bytes again from a copy of the request.
    const copy = bytes === null ? request : new Request(request, { body: bytes, duplex: "half" } as RequestInit);

    const result = await context.keyward.idempotency.run(idempotencyCaller(principal.owner.id), key, fingerprint, async () => {
      let response: Response;
      try {
        response = await handler({ ...args, request: copy });
      } catch (error) {
        response = toProblem(error, context.requestId);
      }
      return { status: response.status, body: await response.text() };
    });
    return new Response(result.body, {
      status: result.status,
      headers: {
        "Content-Type": result.status >= 400 ? "application/problem+json" : "application/json",
        "Cache-Control": "no-store",
        ...(result.replayed && { [REPLAYED_HEADER]: "true" }),
      },
    });
  };
}

/** JSON bodies compare by meaning (member order and whitespace aside); anything else byte for byte. */
function canonicalBody(bytes: Uint8Array | null): string {
  if (bytes === null || bytes.byteLength === 0) return "";
  const text = Buffer.from(bytes).toString("utf8");
  try {
    return `json:${canonicalJson(JSON.parse(text))}`;
  } catch {
    return `raw:${Buffer.from(bytes).toString("base64")}`;
  }
}
