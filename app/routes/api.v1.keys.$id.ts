import { withApiKey } from "~/lib/api-key-middleware.server";
import { keyIdParam, updateKeyBody } from "~/lib/api-schemas";
import { apiRoute, json, readJson } from "~/lib/http.server";

const route = apiRoute({
  GET: withApiKey({ operation: "keys.get" }, async ({ params, context, actor }) => {
    return json(await context.keyward.keys.get(actor, keyIdParam(params)));
  }),
  PATCH: withApiKey({ operation: "keys.update" }, async ({ request, params, context, actor }) => {
    const id = keyIdParam(params);
    const patch = await readJson(request, updateKeyBody);
    return json(await context.keyward.keys.update(actor, id, patch));
  }),
  DELETE: withApiKey({ operation: "keys.revoke" }, async ({ params, context, actor }) => {
    return json(await context.keyward.keys.revoke(actor, keyIdParam(params)));
  }),
});
export const loader = route.loader;
export const action = route.action;
