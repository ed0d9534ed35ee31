import { withApiKey } from "~/lib/api-key-middleware.server";
import { keyIdParam } from "~/lib/api-schemas";
import { apiRoute, json, parseInput, queryObject } from "~/lib/http.server";
import { usageSeriesInput } from "~/lib/usage-schemas";

/** A key's usage per minute, hour or day; the same visibility as the key itself. */
const route = apiRoute({
  GET: withApiKey({ operation: "keys.usage" }, async ({ request, params, context, actor }) => {
    const id = keyIdParam(params);
    const query = parseInput(usageSeriesInput, queryObject(new URL(request.url)));
    return json(await context.keyward.usageReports.series(actor, id, query));
  }),
});
export const loader = route.loader;
export const action = route.action;
