import { redirect, type AppLoadContext } from "@remix-run/node";
import { requestMeta, isSameOrigin } from "./lib/request.server";
import { sessionActor, type Actor } from "./services/actor.server";
import type { SessionUser } from "./services/auth.server";
import { createCaller } from "./trpc/root.server";

export interface SignedIn {
  user: SessionUser;
  actor: Actor;
  sessionId: string;
  /** The tRPC router, called as this user: dashboards go through the same procedures as the SDK. */
  caller: ReturnType<typeof createCaller>;
}

/**
 * The first line of every protected loader and action. Redirects to the login page when
 * there is no valid session; refuses cookie-authenticated writes from another origin (CSRF).
 */
export async function requireUser(request: Request, context: AppLoadContext): Promise<SignedIn> {
  const { keyward } = context;
  if (request.method !== "GET" && request.method !== "HEAD" && !isSameOrigin(request, keyward.config.origin)) {
    throw new Response("Cross-site request refused", { status: 403 });
  }
  const session = await keyward.auth.fromRequest(request);
  if (!session) {
    const url = new URL(request.url);
    const redirectTo = `${url.pathname}${url.search}`;
    throw redirect(redirectTo === "/" ? "/login" : `/login?redirectTo=${encodeURIComponent(redirectTo)}`);
  }
  const actor = sessionActor(session.user, requestMeta(request, context.clientIp, context.requestId));
  return {
    user: session.user,
    actor,
    sessionId: session.sessionId,
    caller: createCaller({ keyward, request, actor, viaCookie: true, authFailure: null }),
  };
}

export async function requireAdmin(request: Request, context: AppLoadContext): Promise<SignedIn> {
  const signedIn = await requireUser(request, context);
  if (signedIn.user.role !== "admin") throw new Response("Admins only", { status: 403 });
  return signedIn;
}

/** A control character (tab, CR, LF and DEL among them) or a backslash: browsers strip or rewrite these, turning a path into another host. */
function hasUnsafeCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f || code === 0x5c) return true;
  }
  return false;
}

/** Longer than any page of the app's own. */
const MAX_REDIRECT_LENGTH = 2048;

/** One leading "/", and no control character, backslash or second leading "/" as typed or once percent-decoded. */
function isPlainPath(text: string): boolean {
  if (text.length > MAX_REDIRECT_LENGTH || !text.startsWith("/") || text.startsWith("//") || hasUnsafeCharacter(text)) return false;
  try {
    const decoded = decodeURIComponent(text);
    return !decoded.startsWith("//") && !hasUnsafeCharacter(decoded);
  } catch {
    return false;
  }
}

/**
 * Where to send someone after signing in: `to` if it is a path on this app, else `fallback`.
 * Only a plain path (see isPlainPath: `%09`, `%5C`, `/%2F` making `//` are refused) that the
 * WHATWG URL parser resolves against `origin` to that same origin, and whose serialisation is a
 * plain path too (`/.//host` parses to the path `//host`). The answer is that serialisation, so
 * it is always a valid Location header (never a 500) and means the same to every browser.
 */
export function safeRedirect(to: unknown, origin: string, fallback = "/keys"): string {
  if (typeof to !== "string" || !isPlainPath(to)) return fallback;
  const base = new URL(origin);
  const url = new URL(to, base);
  const path = `${url.pathname}${url.search}${url.hash}`;
  return url.origin === base.origin && isPlainPath(path) ? path : fallback;
}
