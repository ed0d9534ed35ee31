import type { LoaderFunctionArgs } from "@remix-run/node";
import { seesEveryone } from "~/services/actor.server";
import { eventStreamResponse, liveFeedFor } from "~/services/live.server";
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
 * changes and alerts this user may see. Ends when the session ends or the user's own account
 * changes (the browser reconnects and is checked again).
 */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const { user, actor } = await requireUser(request, context).catch(unauthorizedInsteadOfRedirect);
  const { keyward } = context;
  return eventStreamResponse({
    feed: liveFeedFor(keyward),
    audience: { userId: user.id, admin: seesEveryone(actor) },
    signal: request.signal,
    stillAllowed: async () => {
      const session = await keyward.auth.fromRequest(request);
      return session?.user.id === user.id && session.user.role === user.role;
    },
    endsAfter: (event) => event.type === "user.changed" && event.userId === user.id,
  });
}
