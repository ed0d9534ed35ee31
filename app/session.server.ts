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

/** Only same-site relative paths, so the login page cannot be used as an open redirect. */
export function safeRedirect(to: FormDataEntryValue | string | null | undefined, fallback = "/keys"): string {
  if (typeof to !== "string" || !to.startsWith("/") || to.startsWith("//") || to.startsWith("/\\")) return fallback;
  return to;
}
