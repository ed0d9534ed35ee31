import { withApiKey } from "~/lib/api-key-middleware.server";
import { apiIdParam } from "~/lib/api-schemas";
import { apiRoute, json, parseInput, queryObject } from "~/lib/http.server";
import { usageSeriesInput } from "~/lib/usage-schemas";

/** An API's verifications per minute, hour or day by outcome, and its most verified keys; the same visibility as the API. */
const route = apiRoute({
  GET: withApiKey({ operation: "apis.usage" }, async ({ request, params, context, actor }) => {
    const id = apiIdParam(params);
    const query = parseInput(usageSeriesInput, queryObject(new URL(request.url)));
    return json(await context.keyward.usageReports.apiUsage(actor, id, query));
  }),
});
export const loader = route.loader;
export const action = route.action;
