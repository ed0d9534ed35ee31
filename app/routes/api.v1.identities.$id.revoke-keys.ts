import { withApiKey } from "~/lib/api-key-middleware.server";
import { idempotent } from "~/lib/idempotency.server";
import { identityIdParam } from "~/lib/api-schemas";
import { apiRoute, json } from "~/lib/http.server";

/** Revokes every key of the identity not yet revoked: one transaction, one audit entry with the count. */
const route = apiRoute({
  POST: withApiKey({ operation: "identities.revokeKeys" }, idempotent(async ({ params, context, actor }) => {
    return json(await context.keyward.identities.revokeKeys(actor, identityIdParam(params)));
  })),
});
export const loader = route.loader;
export const action = route.action;
