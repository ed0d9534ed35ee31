import { withApiKey } from "~/lib/api-key-middleware.server";
import { keyIdParam } from "~/lib/api-schemas";
import { apiRoute, json } from "~/lib/http.server";

const route = apiRoute({
  POST: withApiKey({ operation: "keys.reveal" }, async ({ params, context, actor }) => {
    return json(await context.keyward.keys.reveal(actor, keyIdParam(params)));
  }),
});
export const loader = route.loader;
export const action = route.action;
