import { isDatabaseUnavailable, isUnstorableText, UNSTORABLE_TEXT_MESSAGE } from "../../db/errors";
import { initTRPC, TRPCError, type TRPC_ERROR_CODE_KEY } from "@trpc/server";
import { z, ZodError } from "zod";
import type { Scope } from "../lib/scopes";
import { grants } from "../lib/scopes";
import { isAddressAllowed } from "../lib/ip";
import { isSameOrigin, readPresentedKey, requestMeta } from "../lib/request.server";
import { actorScopes, keyActor, sessionActor, type Actor } from "../services/actor.server";
import { isKeywardError, KeywardError, type ErrorCode } from "../services/errors.server";
import type { Keyward } from "../services/keyward.server";
import { rateLimitHeaders } from "../services/rate-limiter.server";
import type { SecurityEventKind, Severity } from "../services/security-events.server";

// 1. Context ----------------------------------------------------------------

export interface TrpcContext {
  keyward: Keyward;
  request: Request;
  /** Who is calling: a session user, or a user acting through one of their API keys. */
  actor: Actor | null;
  /** Why a presented key was refused, reported by the procedures that need an actor. */
  authFailure: KeywardError | null;
  /** True when the actor came from the session cookie (CSRF applies). */
  viaCookie: boolean;
  /** The presented key's id when it was identified, even if then refused (usage counts it). */
  keyId?: string;
}

export interface ContextInput {
  keyward: Keyward;
  request: Request;
  clientIp: string;
  requestId: string;
  /** Procedure calls in this HTTP request (a batch of N counts N against the key's rate limit). */
  calls?: number;
  /** Response headers, for RateLimit-* and Retry-After when a key is identified. */
  resHeaders?: Headers;
}

/** Refused keys: the stable code (also the security event's kind) and the event's severity, as on the REST API. */
const KEY_REFUSALS = {
  INVALID: { code: "invalid_key", severity: "warning" },
  REVOKED: { code: "key_revoked", severity: "warning" },
  DISABLED: { code: "key_disabled", severity: "info" },
  EXPIRED: { code: "key_expired", severity: "info" },
} as const satisfies Record<string, { code: ErrorCode & SecurityEventKind; severity: Severity }>;

/**
 * Builds the context: an API key from the headers wins over the session cookie. A key goes
 * through the same gates as on the REST API: failed-auth throttle, status, allowlist, batch cap
 * and rate limit (a batch of N calls consumes N).
 */
export async function createContext({ keyward, request, clientIp, requestId, calls = 1, resHeaders }: ContextInput): Promise<TrpcContext> {
  const meta = requestMeta(request, clientIp, requestId);
  const presented = readPresentedKey(request);
  if (presented) {
    const refuse = (authFailure: KeywardError, keyId?: string): TrpcContext => ({ keyward, request, actor: null, viaCookie: false, authFailure, keyId });
    const admission = await keyward.authFailures?.admit(clientIp);
    if (admission && !admission.allowed) {
      resHeaders?.set("Retry-After", String(admission.retryAfterSeconds));
      keyward.securityEvents.record({ kind: "too_many_failures", severity: "warning", clientIp, details: { retryAfterSeconds: admission.retryAfterSeconds } });
      return refuse(new KeywardError("too_many_failures", "Too many failed authentications from your address; wait before trying again"));
    }
    let result: Awaited<ReturnType<typeof keyward.verifier.authenticate>>;
    try {
      result = await keyward.verifier.authenticate(presented);
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      resHeaders?.set("Retry-After", "5");
      return refuse(new KeywardError("service_unavailable", "The database is not answering right now; retry after the time in Retry-After"));
    }
    if (result.code !== "VALID") {
      keyward.authFailures?.recordFailure(clientIp);
      const refusal = KEY_REFUSALS[result.code];
      const keyId = result.code === "INVALID" ? undefined : result.key.id;
      keyward.securityEvents.record({ kind: refusal.code, severity: refusal.severity, keyId, clientIp });
      return refuse(new KeywardError(refusal.code, "The API key is not valid"), keyId);
    }
    if (!isAddressAllowed(clientIp, result.key.allowedIps)) {
      keyward.securityEvents.record({ kind: "ip_not_allowed", severity: "warning", keyId: result.key.id, clientIp });
      return refuse(new KeywardError("ip_not_allowed", "This key may not be used from your address"), result.key.id);
    }
    const maxBatch = keyward.config.rateLimits.maxTrpcBatch;
    if (calls > maxBatch) {
      return refuse(new KeywardError("batch_too_large", `A batch may hold at most ${maxBatch} calls; this one has ${calls}`), result.key.id);
    }
    const decision = await keyward.limiter?.consume(result.key.id, result.key.rateLimit, calls);
    if (decision) {
      for (const [name, value] of Object.entries(rateLimitHeaders(decision))) resHeaders?.set(name, value);
      if (!decision.allowed) {
        keyward.securityEvents.record({ kind: "rate_limited", severity: "info", keyId: result.key.id, clientIp });
        return refuse(new KeywardError("rate_limited", "This key's rate limit is used up; retry after the time in Retry-After"), result.key.id);
      }
    }
    return { keyward, request, viaCookie: false, authFailure: null, actor: keyActor(result.key, meta), keyId: result.key.id };
  }
  const session = await keyward.auth.fromRequest(request);
  return { keyward, request, viaCookie: Boolean(session), authFailure: null, actor: session ? sessionActor(session.user, meta) : null };
}

// 2. Init: every error carries Keyward's stable code, and zod's flattened field errors -----

const TRPC_CODES: Record<string, TRPC_ERROR_CODE_KEY> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  409: "CONFLICT",
  422: "UNPROCESSABLE_CONTENT",
  429: "TOO_MANY_REQUESTS",
  503: "SERVICE_UNAVAILABLE",
};

const DEFAULT_CODES: Partial<Record<TRPC_ERROR_CODE_KEY, string>> = {
  BAD_REQUEST: "validation_failed",
  UNAUTHORIZED: "unauthorized",
  FORBIDDEN: "forbidden",
  NOT_FOUND: "not_found",
  METHOD_NOT_SUPPORTED: "method_not_allowed",
  PAYLOAD_TOO_LARGE: "payload_too_large",
  PARSE_ERROR: "invalid_json",
  INTERNAL_SERVER_ERROR: "internal_error",
};

const t = initTRPC.context<TrpcContext>().create({
  errorFormatter({ shape, error }) {
    const zodError = error.cause instanceof ZodError ? error.cause : null;
    const code = isKeywardError(error.cause) ? error.cause.code : zodError ? "validation_failed" : (DEFAULT_CODES[error.code] ?? error.code.toLowerCase());
    return {
      ...shape,
      // Internal errors never leak their message (it may hold anything).
      message: error.code === "INTERNAL_SERVER_ERROR" ? "Something went wrong on our side" : shape.message,
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        keywardCode: code,
        fieldErrors: zodError ? z.flattenError(zodError).fieldErrors : undefined,
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

// 3. Procedures ------------------------------------------------------------------

/** Maps service errors (stable codes) to tRPC codes, in this one place. */
const mapServiceErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && isKeywardError(result.error.cause)) {
    const cause = result.error.cause;
    throw new TRPCError({ code: TRPC_CODES[cause.status] ?? "BAD_REQUEST", message: cause.message, cause });
  }
  if (!result.ok && isUnstorableText(result.error.cause)) {
    throw new TRPCError({ code: "BAD_REQUEST", message: UNSTORABLE_TEXT_MESSAGE, cause: new KeywardError("validation_failed", UNSTORABLE_TEXT_MESSAGE) });
  }
  // The database not answering is a retry-later, as on the REST API, never an internal error.
  if (!result.ok && isDatabaseUnavailable(result.error.cause)) {
    throw new TRPCError({ code: "SERVICE_UNAVAILABLE", message: "The database is not answering right now; retry shortly", cause: new KeywardError("service_unavailable", "The database is not answering right now; retry shortly") });
  }
  return result;
});

export const publicProcedure = t.procedure.use(mapServiceErrors);

/** Any authenticated caller; narrows `actor` to non-null. Cookie-authenticated mutations must come from our origin. */
export const authedProcedure = publicProcedure.use(({ ctx, type, next }) => {
  if (!ctx.actor) {
    throw ctx.authFailure ?? new KeywardError("unauthorized", "Sign in, or send an API key in the Authorization header");
  }
  if (type === "mutation" && ctx.viaCookie && !isSameOrigin(ctx.request, ctx.keyward.config.origin)) {
    throw new KeywardError("csrf_rejected", "Cross-site request refused: this change must come from the Keyward dashboard");
  }
  return next({ ctx: { ...ctx, actor: ctx.actor } });
});

/** Requires a scope (hierarchical: admin ⊇ write ⊇ read). Session users hold their role's scopes. */
export const scopedProcedure = (scope: Scope) =>
  authedProcedure.use(({ ctx, next }) => {
    if (!grants(actorScopes(ctx.actor), scope)) {
      // A key asking beyond its scopes is recorded, as on the REST API; a dashboard user is simply refused.
      if (ctx.keyId) ctx.keyward.securityEvents.record({ kind: "insufficient_scope", severity: "info", keyId: ctx.keyId, clientIp: ctx.actor.meta?.ip ?? null, details: { required: scope } });
      throw new KeywardError("insufficient_scope", `This needs the "${scope}" scope`, { required: scope });
    }
    return next();
  });

export const adminProcedure = scopedProcedure("admin");
