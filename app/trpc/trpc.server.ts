import { initTRPC, TRPCError, type TRPC_ERROR_CODE_KEY } from "@trpc/server";
import { z, ZodError } from "zod";
import type { Scope } from "../lib/scopes";
import { grants } from "../lib/scopes";
import { isAddressAllowed } from "../lib/ip";
import { isSameOrigin, readPresentedKey, requestMeta } from "../lib/request.server";
import { actorScopes, sessionActor, type Actor } from "../services/actor.server";
import { isKeywardError, KeywardError } from "../services/errors.server";
import type { Keyward } from "../services/keyward.server";

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
}

export interface ContextInput {
  keyward: Keyward;
  request: Request;
  clientIp: string;
  requestId: string;
}

/** Builds the context: an API key from the headers wins over the session cookie. */
export async function createContext({ keyward, request, clientIp, requestId }: ContextInput): Promise<TrpcContext> {
  const meta = requestMeta(request, clientIp, requestId);
  const presented = readPresentedKey(request);
  if (presented) {
    const result = await keyward.keys.authenticate(presented);
    if (result.code !== "VALID") {
      const code = ({ INVALID: "invalid_key", REVOKED: "key_revoked", DISABLED: "key_disabled", EXPIRED: "key_expired" } as const)[result.code];
      return { keyward, request, actor: null, viaCookie: false, authFailure: new KeywardError(code, "The API key is not valid") };
    }
    if (!isAddressAllowed(clientIp, result.key.allowedIps)) {
      const failure = new KeywardError("ip_not_allowed", "This key may not be used from your address");
      return { keyward, request, actor: null, viaCookie: false, authFailure: failure };
    }
    const { key } = result;
    return {
      keyward,
      request,
      viaCookie: false,
      authFailure: null,
      actor: { kind: "user", userId: key.ownerId, role: key.ownerRole, scopes: key.scopes, keyId: key.id, meta },
    };
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
      throw new KeywardError("insufficient_scope", `This needs the "${scope}" scope`, { required: scope });
    }
    return next();
  });

export const adminProcedure = scopedProcedure("admin");
