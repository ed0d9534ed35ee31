import { withApiKey } from "~/lib/api-key-middleware.server";
import { apiRoute } from "~/lib/http.server";
import { readPresentedKey } from "~/lib/request.server";
import { seesEveryone } from "~/services/actor.server";
import { eventStreamResponse, liveFeedFor } from "~/services/live.server";

/**
 * Live updates for the SDK (Server-Sent Events): `key.changed` (ids only) and `usage.flushed` for the
 * keys the calling key may read, so an app drops cached verifications at once. The stream ends when
 * the calling key stops being valid (revoked, disabled, expired, owner disabled).
 */
const route = apiRoute({
  GET: withApiKey({ scope: "read" }, async ({ request, context, principal, actor }) => {
    const { keyward } = context;
    const presented = readPresentedKey(request)!;
    const stillValid = async () => (await keyward.verifier.authenticate(presented)).code === "VALID";
    return eventStreamResponse({
      feed: liveFeedFor(keyward),
      audience: { userId: principal.owner.id, admin: seesEveryone(actor) },
      signal: request.signal,
      stillAllowed: stillValid,
      endsAfter: async (event) =>
        ((event.type === "key.changed" && event.keyId === principal.keyId) || (event.type === "user.changed" && event.userId === principal.owner.id)) && !(await stillValid()),
    });
  }),
});
export const loader = route.loader;
export const action = route.action;
