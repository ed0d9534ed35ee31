import { withApiKey } from "~/lib/api-key-middleware.server";
import { identityIdParam, updateIdentityBody } from "~/lib/api-schemas";
import { apiRoute, json, readJson } from "~/lib/http.server";

const route = apiRoute({
  GET: withApiKey({ operation: "identities.get" }, async ({ params, context, actor }) => {
    return json(await context.keyward.identities.get(actor, identityIdParam(params)));
  }),
  PATCH: withApiKey({ operation: "identities.update" }, async ({ request, params, context, actor }) => {
    const id = identityIdParam(params);
    const patch = await readJson(request, updateIdentityBody);
    return json(await context.keyward.identities.update(actor, id, patch));
  }),
  /** 409 while the identity has live keys (revoke-keys first). */
  DELETE: withApiKey({ operation: "identities.delete" }, async ({ params, context, actor }) => {
    return json(await context.keyward.identities.delete(actor, identityIdParam(params)));
  }),
});
export const loader = route.loader;
export const action = route.action;
