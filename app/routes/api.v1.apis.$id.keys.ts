import { withApiKey } from "~/lib/api-key-middleware.server";
import { idempotent } from "~/lib/idempotency.server";
import { apiIdParam, createIssuedKeyBody, listApiKeysQuery } from "~/lib/api-schemas";
import { apiRoute, json, parseInput, queryObject, readJson } from "~/lib/http.server";

/** The keys issued for one API, and issuing one; each is then managed through /api/v1/keys/{id}. */
const route = apiRoute({
  GET: withApiKey({ operation: "apis.keys.list" }, async ({ request, params, context, actor }) => {
    const apiId = apiIdParam(params);
    const query = parseInput(listApiKeysQuery, queryObject(new URL(request.url), ["limit"]));
    // The API first, so one the caller may not see is 404 rather than an empty page.
    await context.keyward.apis.get(actor, apiId);
    return json(await context.keyward.keys.list(actor, { ...query, kind: "issued", apiId }));
  }),
  POST: withApiKey({ operation: "apis.keys.create" }, idempotent(async ({ request, params, context, actor }) => {
    const apiId = apiIdParam(params);
    const input = await readJson(request, createIssuedKeyBody);
    return json(await context.keyward.keys.createIssued(actor, apiId, input), { status: 201 });
  })),
});
export const loader = route.loader;
export const action = route.action;
