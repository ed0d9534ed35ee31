import type { AppLoadContext } from "@remix-run/node";
import type { Role } from "../../db/schema";
import { keyActor, type Actor } from "../services/actor.server";
import type { AuthenticatedKey } from "../services/keys.server";
import { rateLimitHeaders } from "../services/rate-limiter.server";
import type { Severity } from "../services/security-events.server";
import { HttpProblem, problem, toProblem, type ApiArgs, type ApiHandler, type ProblemCode } from "./http.server";
import { isAddressAllowed } from "./ip";
import { isWellFormedKey, KEY_PATTERN } from "./key-format";
import { readPresentedKey, requestMeta } from "./request.server";
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

const REFUSALS = {
  INVALID: { code: "invalid_key", detail: "The API key is not valid", severity: "warning" },
  REVOKED: { code: "key_revoked", detail: "The API key has been revoked", severity: "warning" },
  DISABLED: { code: "key_disabled", detail: "The API key is disabled", severity: "info" },
  EXPIRED: { code: "key_expired", detail: "The API key has expired", severity: "info" },
} as const satisfies Record<string, { code: ProblemCode; detail: string; severity: Severity }>;

/**
 * A key anywhere in the URL is refused, and recorded: URLs end up in logs, proxies and browser
 * history, so a key sent in one must be treated as leaked. Applies to public /api/v1 routes too.
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
  const leaked = [...url.searchParams.values(), safeDecode(url.pathname)].map((text) => KEY_PATTERN.exec(text)?.[0]).find(Boolean);
  const known = leaked ? await context.keyward.verifier.authenticate(leaked) : null;
  const keyId = known && known.code !== "INVALID" ? known.key.id : null;
  context.keyward.securityEvents.record({
    kind: "credentials_in_url",
    severity: keyId ? "critical" : "warning",
    keyId,
    clientIp: context.clientIp,
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
 * Authorization: Bearer or X-API-Key; format and checksum (no I/O); the key record (cache, else one
 * query); its status; the IP allowlist; the scope; the per-key rate limit; then the handler, with a
 * typed principal. Refusals are problem+json; usage is recorded for every request of a known key.
 */
export function withApiKey(options: { scope: Scope }, handler: (args: KeyHandlerArgs) => Promise<Response>): ApiHandler {
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

    const admission = await keyward.authFailures?.admit(clientIp);
    if (admission && !admission.allowed) {
      keyward.securityEvents.record({ kind: "too_many_failures", severity: "warning", clientIp, details: { retryAfterSeconds: admission.retryAfterSeconds } });
      throw new HttpProblem("too_many_failures", "Too many failed authentications from your address; wait before trying again", {
        headers: { "Retry-After": String(admission.retryAfterSeconds) },
      });
    }

    const result = isWellFormedKey(presented) ? await keyward.verifier.authenticate(presented) : ({ code: "INVALID" } as const);
    if (result.code !== "VALID") {
      const refusal = REFUSALS[result.code];
      const keyId = result.code === "INVALID" ? null : result.key.id;
      keyward.authFailures?.recordFailure(clientIp);
      keyward.securityEvents.record({ kind: refusal.code, severity: refusal.severity, keyId, clientIp });
      const response = problem(refusal.code, refusal.detail, requestId, { headers: INVALID_TOKEN_CHALLENGE });
      return keyId ? recordUsage(args, url, keyId, response, started) : response;
    }
    const { key } = result;

    if (!isAddressAllowed(clientIp, key.allowedIps)) {
      keyward.securityEvents.record({ kind: "ip_not_allowed", severity: "warning", keyId: key.id, clientIp });
      const response = problem("ip_not_allowed", `This key may not be used from your address (${clientIp})`, requestId);
      return recordUsage(args, url, key.id, response, started);
    }

    if (!grants(key.scopes, options.scope)) {
      keyward.securityEvents.record({ kind: "insufficient_scope", severity: "info", keyId: key.id, clientIp, details: { required: options.scope } });
      const response = problem("insufficient_scope", `This needs the "${options.scope}" scope; the key has: ${key.scopes.join(", ") || "none"}`, requestId, {
        extensions: { requiredScope: options.scope },
      });
      return recordUsage(args, url, key.id, response, started);
    }

    const limit = await keyward.limiter?.consume(key.id, key.rateLimit);
    const limitHeaders = limit ? rateLimitHeaders(limit) : {};
    if (limit && !limit.allowed) {
      keyward.securityEvents.record({ kind: "rate_limited", severity: "info", keyId: key.id, clientIp });
      const response = problem("rate_limited", "This key has used up its request budget for now", requestId, { headers: limitHeaders });
      return recordUsage(args, url, key.id, response, started);
    }

    let response: Response;
    try {
      response = await handler({ ...args, principal: principalOf(key), actor: keyActor(key, requestMeta(request, clientIp, requestId)) });
    } catch (error) {
      response = toProblem(error, requestId);
    }
    for (const [name, value] of Object.entries(limitHeaders)) response.headers.set(name, value);
    return recordUsage(args, url, key.id, response, started);
  };
}

function principalOf(key: AuthenticatedKey): ApiKeyPrincipal {
  return { keyId: key.id, keyName: key.name, owner: { id: key.ownerId, email: key.ownerEmail, role: key.ownerRole }, scopes: key.scopes };
}

/** The usage seam: one entry per request of an identified key, in memory; never awaited. Shared with the tRPC route. */
export function recordUsage({ request, context }: ApiArgs, url: URL, keyId: string, response: Response, started: number): Response {
  context.keyward.usage?.record({
    keyId,
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
