import { withApiKey } from "~/lib/api-key-middleware.server";
import { apiRoute, json, parseInput, queryObject } from "~/lib/http.server";
import { securityEventsInput } from "~/services/alerts.server";

/** Security events, newest first, filtered and cursor-paginated. */
const route = apiRoute({
  GET: withApiKey({ operation: "security.events" }, async ({ request, context, actor }) => {
    const query = parseInput(securityEventsInput, queryObject(new URL(request.url), ["limit"]));
    return json(await context.keyward.security.listEvents(actor, query));
  }),
});
export const loader = route.loader;
export const action = route.action;
