import { withApiKey } from "~/lib/api-key-middleware.server";
import { keyIdParam } from "~/lib/api-schemas";
import { apiRoute, json, parseInput, queryObject } from "~/lib/http.server";
import { requestLogInput } from "~/lib/usage-schemas";

/** A key's recent requests from the request log, newest first. */
const route = apiRoute({
  GET: withApiKey({ operation: "keys.requests" }, async ({ request, params, context, actor }) => {
    const id = keyIdParam(params);
    const query = parseInput(requestLogInput, queryObject(new URL(request.url), ["limit"]));
    return json(await context.keyward.usageReports.requests(actor, id, query));
  }),
});
export const loader = route.loader;
export const action = route.action;
