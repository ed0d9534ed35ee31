import { withApiKey } from "~/lib/api-key-middleware.server";
import { apiRoute, HttpProblem } from "~/lib/http.server";
import { readPresentedKey } from "~/lib/request.server";
import { seesEveryone } from "~/services/actor.server";
import { STREAMS_FULL_RETRY_AFTER_SECONDS } from "~/services/live.server";

/**
 * Live updates for the SDK (Server-Sent Events): `key.changed` (ids only) and `usage.flushed` for the
 * keys the calling key may read, so an app drops cached verifications at once. The stream ends when
 * the calling key stops being valid (revoked, disabled, expired, owner disabled), and after the
 * maximum stream age (the SDK reconnects). Each key may hold a few streams open per instance: 429 past it.
 */
const route = apiRoute({
  GET: withApiKey({ operation: "events.stream" }, async ({ request, context, principal, actor }) => {
    const { keyward } = context;
    const presented = readPresentedKey(request)!;
    const stillValid = async () => (await keyward.verifier.authenticate(presented)).code === "VALID";
    const stream = keyward.live.open(principal.keyId, request, {
      audience: { userId: principal.owner.id, admin: seesEveryone(actor) },
      stillAllowed: stillValid,
      endsAfter: async (event) =>
        ((event.type === "key.changed" && event.keyId === principal.keyId) || (event.type === "user.changed" && event.userId === principal.owner.id)) && !(await stillValid()),
    });
    if (!stream) {
      throw new HttpProblem("too_many_requests", `This key already has ${keyward.live.slots.max} event streams open; close one, or retry after the time in Retry-After`, {
        headers: { "Retry-After": String(STREAMS_FULL_RETRY_AFTER_SECONDS) },
      });
    }
    return stream;
  }),
});
export const loader = route.loader;
export const action = route.action;
