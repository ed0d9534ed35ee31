import { withApiKey } from "~/lib/api-key-middleware.server";
import { idempotent } from "~/lib/idempotency.server";
import { identityIdParam } from "~/lib/api-schemas";
import { apiRoute, json } from "~/lib/http.server";

/** Disables every live, enabled key of the identity: one transaction, one audit entry with the count. */
const route = apiRoute({
  POST: withApiKey({ operation: "identities.disableKeys" }, idempotent(async ({ params, context, actor }) => {
    return json(await context.keyward.identities.disableKeys(actor, identityIdParam(params)));
  })),
});
export const loader = route.loader;
export const action = route.action;
