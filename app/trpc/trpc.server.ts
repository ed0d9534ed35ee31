import { isDatabaseUnavailable, isUnstorableText, UNSTORABLE_TEXT_MESSAGE } from "../../db/errors";
import { initTRPC, TRPCError, type TRPC_ERROR_CODE_KEY } from "@trpc/server";
import { z, ZodError } from "zod";
import { scopeOf, type Operation } from "../lib/operations";
import { grants } from "../lib/scopes";
import { isSameOrigin, readPresentedKey, requestMeta } from "../lib/request.server";
import { actorScopes, keyActor, sessionActor, type Actor } from "../services/actor.server";
import { isKeywardError, KeywardError } from "../services/errors.server";
import type { Keyward } from "../services/keyward.server";
import { rateLimitHeaders } from "../services/rate-limiter.server";
import { admitRootKey, type RootKeyAdmission } from "../services/admission.server";

// 1. Context ----------------------------------------------------------------

export interface TrpcContext {
  keyward: Keyward;
  request: Request;
  /** Who is calling: a session user, or a user acting through one of their API keys. */
  actor: Actor | null;
  /** Why the request was refused (a presented key, or the batch), reported by the procedures that need an actor. */
  authFailure: KeywardError | null;
  /** True when the actor came from the session cookie (CSRF applies). */
  viaCookie: boolean;
  /** The presented key, once identified (even if then refused): usage counts its requests. */
  keyUse?: KeyUse;
  /** Response headers (`Idempotent-Replayed` is set on a replay). */
  resHeaders?: Headers;
}

export interface KeyUse {
  keyId: string;
  /** Passed the context's gates (status, rate limit, allowlist). */
  admitted: boolean;
  calls: number;
  /** Calls refused for want of a scope; shared by every call of the batch. */
  scopeRefusals: number;
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

/**
 * Builds the context. A batch over the cap is refused for every caller, before anything else. An
 * API key from the headers wins over the session cookie, and goes through the one admission the
 * REST API uses too (admitRootKey: a batch of N calls consumes N); the scope is checked per call.
 */
export async function createContext({ keyward, request, clientIp, requestId, calls = 1, resHeaders }: ContextInput): Promise<TrpcContext> {
  const meta = requestMeta(request, clientIp, requestId);
  const refuse = (authFailure: KeywardError, keyUse?: KeyUse): TrpcContext => ({ keyward, request, actor: null, viaCookie: false, authFailure, keyUse, resHeaders });
  const maxBatch = keyward.config.rateLimits.maxTrpcBatch;
  if (calls > maxBatch) return refuse(new KeywardError("batch_too_large", `A batch may hold at most ${maxBatch} calls; this one has ${calls}`));

  const presented = readPresentedKey(request);
  if (presented) {
    let admission: RootKeyAdmission;
    try {
      admission = await admitRootKey(keyward, presented, { clientIp, cost: calls });
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      resHeaders?.set("Retry-After", "5");
      return refuse(new KeywardError("service_unavailable", "The database is not answering right now; retry after the time in Retry-After"));
    }
    for (const [name, value] of Object.entries(admission.limit ? rateLimitHeaders(admission.limit) : {})) resHeaders?.set(name, value);
    if (!admission.admitted) {
      const { refusal } = admission;
      if (refusal.retryAfterSeconds !== undefined) resHeaders?.set("Retry-After", String(refusal.retryAfterSeconds));
      return refuse(new KeywardError(refusal.code, refusal.detail), refusal.keyId ? { keyId: refusal.keyId, admitted: false, calls, scopeRefusals: 0 } : undefined);
    }
    const { key } = admission;
    return { keyward, request, viaCookie: false, authFailure: null, actor: keyActor(key, meta), keyUse: { keyId: key.id, admitted: true, calls, scopeRefusals: 0 }, resHeaders };
  }
  const session = await keyward.auth.fromRequest(request);
  return { keyward, request, viaCookie: Boolean(session), authFailure: null, actor: session ? sessionActor(session.user, meta) : null, resHeaders };
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

/**
 * A procedure for one operation of the management API: it requires the scope the operation table
 * (app/lib/operations.ts) declares, the same one the REST route and the OpenAPI document name.
 * Scopes are hierarchical (admin ⊇ write ⊇ read); session users hold their role's scopes.
 */
export const operationProcedure = (operation: Operation) => {
  const scope = scopeOf(operation);
  return authedProcedure.use(({ ctx, next }) => {
    if (!grants(actorScopes(ctx.actor), scope)) {
      // A key asking beyond its scopes is recorded, as on the REST API; a dashboard user is simply refused.
      if (ctx.keyUse) {
        ctx.keyUse.scopeRefusals++;
        ctx.keyward.securityEvents.record({ kind: "insufficient_scope", severity: "info", keyId: ctx.keyUse.keyId, clientIp: ctx.actor.meta?.ip ?? null, details: { required: scope } });
      }
      throw new KeywardError("insufficient_scope", `This needs the "${scope}" scope`, { required: scope });
    }
    return next();
  });
};
