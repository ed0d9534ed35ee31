import { withApiKey } from "~/lib/api-key-middleware.server";
import { apiRoute, json, parseInput, queryObject } from "~/lib/http.server";
import { usageSummaryInput } from "~/lib/usage-schemas";

/** Totals and the busiest keys over a range (admin scope). */
const route = apiRoute({
  GET: withApiKey({ operation: "usage.summary" }, async ({ request, context, actor }) => {
    const query = parseInput(usageSummaryInput, queryObject(new URL(request.url), ["top"]));
    return json(await context.keyward.usageReports.summary(actor, query));
  }),
});
export const loader = route.loader;
export const action = route.action;
