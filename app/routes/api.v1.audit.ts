import { withApiKey } from "~/lib/api-key-middleware.server";
import { auditListInput } from "~/lib/audit-schemas";
import { apiRoute, json, parseInput, queryObject } from "~/lib/http.server";

/** The audit trail, newest first, filtered and paginated (admin scope). */
const route = apiRoute({
  GET: withApiKey({ operation: "audit.list" }, async ({ request, context, actor }) => {
    const query = parseInput(auditListInput, queryObject(new URL(request.url), ["limit"]));
    return json(await context.keyward.audit.list(actor, query));
  }),
});
export const loader = route.loader;
export const action = route.action;
