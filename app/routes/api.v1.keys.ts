import { withApiKey } from "~/lib/api-key-middleware.server";
import { idempotent } from "~/lib/idempotency.server";
import { createKeyBody, listKeysQuery } from "~/lib/api-schemas";
import { apiRoute, json, parseInput, queryObject, readJson } from "~/lib/http.server";

const route = apiRoute({
  GET: withApiKey({ operation: "keys.list" }, async ({ request, context, actor }) => {
    const query = parseInput(listKeysQuery, queryObject(new URL(request.url), ["limit"]));
    return json(await context.keyward.keys.list(actor, query));
  }),
  POST: withApiKey({ operation: "keys.create" }, idempotent(async ({ request, context, actor }) => {
    const input = await readJson(request, createKeyBody);
    return json(await context.keyward.keys.create(actor, input), { status: 201 });
  })),
});
export const loader = route.loader;
export const action = route.action;
