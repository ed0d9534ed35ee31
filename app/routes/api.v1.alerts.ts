import { withApiKey } from "~/lib/api-key-middleware.server";
import { apiRoute, json, parseInput, queryObject } from "~/lib/http.server";
import { alertListInput } from "~/services/alerts.server";

/** Alerts, newest first (by first firing), optionally by status, cursor-paginated. */
const route = apiRoute({
  GET: withApiKey({ operation: "security.alerts" }, async ({ request, context, actor }) => {
    const query = parseInput(alertListInput, queryObject(new URL(request.url), ["limit"]));
    return json(await context.keyward.security.listAlerts(actor, query));
  }),
});
export const loader = route.loader;
export const action = route.action;
