import type { AppLoadContext } from "@remix-run/node";
import type { Role } from "../../db/schema";
import { keyActor, type Actor } from "../services/actor.server";
import { admitRootKey } from "../services/admission.server";
import { ERROR_STATUS } from "../services/errors.server";
import type { AuthenticatedKey } from "../services/keys.server";
import { rateLimitHeaders } from "../services/rate-limiter.server";
import { HttpProblem, problem, toProblem, type ApiArgs, type ApiHandler } from "./http.server";
import { findKey, KEY_PATTERN } from "./key-format";
import { readPresentedKey, requestMeta } from "./request.server";
import { scopeOf, type Operation } from "./operations";
import { grants, type Scope } from "./scopes";

/** Who is calling, once the middleware has accepted the key. */
export interface ApiKeyPrincipal {
  keyId: string;
  keyName: string;
  owner: { id: string; email: string; role: Role };
  /** Effective scopes: the key's scopes ∩ what the owner's role allows today. */
  scopes: Scope[];
}

export type KeyHandlerArgs = ApiArgs & {
  principal: ApiKeyPrincipal;
  /** The principal as the services' actor: the same one tRPC builds for a key. */
  actor: Actor;
};

/** Query parameter names that only ever carry credentials: refused whatever their value. */
const CREDENTIAL_PARAMETERS = new Set(["api_key", "apikey", "api-key", "key", "access_token", "token"]);

/** The same 401 headers for every refused key, so a response never hints at whether a digest exists. */
const INVALID_TOKEN_CHALLENGE = { "WWW-Authenticate": 'Bearer realm="keyward", error="invalid_token"' };

/**
 * A key anywhere in the URL is refused, and recorded: URLs end up in logs, proxies and browser
 * history, so a key sent in one must be treated as leaked. Applies to public /api/v1 routes too.
 * Naming the leaked key takes a lookup, so it goes through the same admission (throttle and
 * negative cache) as a key in a header; past its address's failure limit a key not in memory is
 * not looked up at all: forged keys in URLs then cost nothing, and are refused unnamed.
 */
export async function refuseCredentialsInUrl(url: URL, context: AppLoadContext): Promise<void> {
  let parameter: string | null = null;
  for (const [name, value] of url.searchParams) {
    if (CREDENTIAL_PARAMETERS.has(name.toLowerCase()) || KEY_PATTERN.test(value) || KEY_PATTERN.test(name)) {
      parameter = name;
      break;
    }
  }
  const inPath = parameter === null && KEY_PATTERN.test(safeDecode(url.pathname));
  if (parameter === null && !inPath) return;

  // A live key in a URL has leaked: say which one, so its owner can rotate it.
  const leaked = [...url.searchParams.values(), safeDecode(url.pathname)].map(findKey).find(Boolean);
  const { keyward, clientIp } = context;
  const known = leaked ? await keyward.verifier.admit(leaked, { clientIp, failures: keyward.authFailures, lookUp: "unless-throttled" }) : null;
  const keyId = known && "key" in known ? known.key.id : null;
  context.keyward.securityEvents.record({
    kind: "credentials_in_url",
    severity: keyId ? "critical" : "warning",
    keyId,
    clientIp,
    details: inPath ? { location: "path" } : { location: "query", parameter: parameter!.slice(0, 64) },
  });
  throw new HttpProblem(
    "credentials_in_url",
    "API keys are never accepted in the URL. Send the key in the Authorization header (Bearer) or X-API-Key, and rotate this key: URLs are logged.",
  );
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The guard of every authenticated /api/v1 route. In order: no key in the URL; credentials from
 * Authorization: Bearer or X-API-Key; the admission (format and checksum, the key record from the
 * cache or one query, the failed-auth throttle guarding that query); its status; the per-key rate
 * limit, which every later refusal spends too; the IP allowlist; the scope the operation needs
 * (app/lib/operations.ts); then the handler, with a typed principal. Refusals are problem+json; usage is recorded for every request of a known
 * key, and only an accepted one moves its last use.
 */
export function withApiKey(options: { operation: Operation }, handler: (args: KeyHandlerArgs) => Promise<Response>): ApiHandler {
  const scope = scopeOf(options.operation);
  return async (args) => {
    const { request, context } = args;
    const { keyward, clientIp, requestId } = context;
    const started = performance.now();
    const url = new URL(request.url);

    await refuseCredentialsInUrl(url, context);

    const presented = readPresentedKey(request);
    if (!presented) {
      throw new HttpProblem("missing_credentials", "Send your API key in the Authorization header (Bearer <key>) or in X-API-Key", {
        headers: { "WWW-Authenticate": 'Bearer realm="keyward"' },
      });
    }

    const admission = await admitRootKey(keyward, presented, { clientIp });
    const limitHeaders = admission.limit ? rateLimitHeaders(admission.limit) : {};
    if (!admission.admitted) {
      const { refusal } = admission;
      const status = ERROR_STATUS[refusal.code];
      const headers = refusal.retryAfterSeconds !== undefined ? { "Retry-After": String(refusal.retryAfterSeconds) } : status === 401 ? INVALID_TOKEN_CHALLENGE : undefined;
      const response = withHeaders(problem(refusal.code, refusal.detail, requestId, { headers }), limitHeaders);
      return refusal.keyId ? recordUsage(args, url, refusal.keyId, response, started, false) : response;
    }
    const { key } = admission;
    const refused = (response: Response) => recordUsage(args, url, key.id, withHeaders(response, limitHeaders), started, false);

    if (!grants(key.scopes, scope)) {
      keyward.securityEvents.record({ kind: "insufficient_scope", severity: "info", keyId: key.id, clientIp, details: { required: scope } });
      return refused(
        problem("insufficient_scope", `This needs the "${scope}" scope; the key has: ${key.scopes.join(", ") || "none"}`, requestId, {
          extensions: { requiredScope: scope },
        }),
      );
    }

    let response: Response;
    try {
      response = await handler({ ...args, principal: principalOf(key), actor: keyActor(key, requestMeta(request, clientIp, requestId)) });
    } catch (error) {
      response = toProblem(error, requestId);
    }
    return recordUsage(args, url, key.id, withHeaders(response, limitHeaders), started, true);
  };
}

function withHeaders(response: Response, headers: Record<string, string>): Response {
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

function principalOf(key: AuthenticatedKey): ApiKeyPrincipal {
  return { keyId: key.id, keyName: key.name, owner: { id: key.ownerId, email: key.ownerEmail, role: key.ownerRole }, scopes: key.scopes };
}

/**
 * The usage seam: one entry per request of an identified key, in memory; never awaited. Shared
 * with the tRPC route. `accepted` is false for a request the admission refused: it is counted
 * (as denied or rate limited) but moves neither the key's last use nor its request count.
 */
export function recordUsage({ request, context }: ApiArgs, url: URL, keyId: string, response: Response, started: number, accepted: boolean): Response {
  context.keyward.usage?.record({
    keyId,
    accepted,
    at: context.keyward.clock.now(),
    method: request.method,
    path: url.pathname,
    status: response.status,
    clientIp: context.clientIp,
    durationMs: performance.now() - started,
    userAgent: request.headers.get("user-agent")?.slice(0, 512) ?? null,
    requestId: context.requestId,
  });
  return response;
}
