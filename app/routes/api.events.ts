import type { LoaderFunctionArgs } from "@remix-run/node";
import { seesEveryone } from "~/services/actor.server";
import { STREAMS_FULL_RETRY_AFTER_SECONDS } from "~/services/live.server";
import { requireUser } from "~/session.server";

/** A stream is no page: without a session it answers 401 instead of redirecting to the login form. */
function unauthorizedInsteadOfRedirect(thrown: unknown): never {
  if (thrown instanceof Response && thrown.status >= 300 && thrown.status < 400) {
    throw new Response("Sign in to receive live updates", { status: 401, headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" } });
  }
  throw thrown;
}

/**
 * Live updates for the signed-in dashboard (Server-Sent Events): key changes, usage flushes, user
 * changes and alerts this user may see. Ends when the session ends, the user's own account
 * changes, or the stream reaches its maximum age (the browser reconnects and is checked again).
 * A user may hold a few streams open per instance, across all their sessions: 429 past it. Streams
 * of the user's keys (/api/v1/events) count per key, not here, so services using a key never shut
 * their owner out of the live dashboard.
 */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const { user, actor } = await requireUser(request, context).catch(unauthorizedInsteadOfRedirect);
  const { keyward } = context;
  const stream = keyward.live.open(user.id, request, {
    audience: { userId: user.id, admin: seesEveryone(actor) },
    stillAllowed: async () => {
      const session = await keyward.auth.fromRequest(request);
      return session?.user.id === user.id && session.user.role === user.role;
    },
    endsAfter: (event) => event.type === "user.changed" && event.userId === user.id,
  });
  if (!stream) {
    throw new Response(`You already have ${keyward.live.slots.max} live update streams open; close a tab, or retry later`, {
      status: 429,
      headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", "Retry-After": String(STREAMS_FULL_RETRY_AFTER_SECONDS) },
    });
  }
  return stream;
}
