import { withApiKey } from "~/lib/api-key-middleware.server";
import { idempotent } from "~/lib/idempotency.server";
import { createApiBody, listApisQuery } from "~/lib/api-schemas";
import { apiRoute, json, parseInput, queryObject, readJson } from "~/lib/http.server";

/** The APIs the caller may see (its owner's; everyone's for admins; a restricted root key's own), and creating one. */
const route = apiRoute({
  GET: withApiKey({ operation: "apis.list" }, async ({ request, context, actor }) => {
    const query = parseInput(listApisQuery, queryObject(new URL(request.url), ["limit"]));
    return json(await context.keyward.apis.list(actor, query));
  }),
  POST: withApiKey({ operation: "apis.create" }, idempotent(async ({ request, context, actor }) => {
    const input = await readJson(request, createApiBody);
    return json(await context.keyward.apis.create(actor, input), { status: 201 });
  })),
});
export const loader = route.loader;
export const action = route.action;
