import { withApiKey } from "~/lib/api-key-middleware.server";
import { apiIdParam, updateApiBody } from "~/lib/api-schemas";
import { apiRoute, json, readJson } from "~/lib/http.server";

const route = apiRoute({
  GET: withApiKey({ operation: "apis.get" }, async ({ params, context, actor }) => {
    return json(await context.keyward.apis.get(actor, apiIdParam(params)));
  }),
  PATCH: withApiKey({ operation: "apis.update" }, async ({ request, params, context, actor }) => {
    const id = apiIdParam(params);
    const patch = await readJson(request, updateApiBody);
    return json(await context.keyward.apis.update(actor, id, patch));
  }),
  /** Archives the API; 409 while it has live keys. */
  DELETE: withApiKey({ operation: "apis.delete" }, async ({ params, context, actor }) => {
    return json(await context.keyward.apis.archive(actor, apiIdParam(params)));
  }),
});
export const loader = route.loader;
export const action = route.action;
