import { withApiKey } from "~/lib/api-key-middleware.server";
import { idempotent } from "~/lib/idempotency.server";
import { keyIdParam, rotateKeyBody } from "~/lib/api-schemas";
import { apiRoute, json, readJson } from "~/lib/http.server";

const route = apiRoute({
  POST: withApiKey({ operation: "keys.rotate" }, idempotent(async ({ request, params, context, actor }) => {
    const id = keyIdParam(params);
    const input = await readJson(request, rotateKeyBody);
    return json(await context.keyward.keys.rotate(actor, id, input), { status: 201 });
  })),
});
export const loader = route.loader;
export const action = route.action;
