import { withApiKey } from "~/lib/api-key-middleware.server";
import { identityIdParam } from "~/lib/api-schemas";
import { apiRoute, json, parseInput, queryObject } from "~/lib/http.server";
import { usageSeriesInput } from "~/lib/usage-schemas";

/** The verifications of all of an identity's keys per minute, hour or day by outcome; the same visibility as the identity. */
const route = apiRoute({
  GET: withApiKey({ operation: "identities.usage" }, async ({ request, params, context, actor }) => {
    const id = identityIdParam(params);
    const query = parseInput(usageSeriesInput, queryObject(new URL(request.url)));
    return json(await context.keyward.usageReports.identityUsage(actor, id, query));
  }),
});
export const loader = route.loader;
export const action = route.action;
