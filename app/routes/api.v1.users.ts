import { withApiKey } from "~/lib/api-key-middleware.server";
import { idempotent } from "~/lib/idempotency.server";
import { createUserBody } from "~/lib/api-schemas";
import { apiRoute, json, readJson } from "~/lib/http.server";

/** User management over REST: the dashboard's Users page, for admins' root keys (audited the same way). */
const route = apiRoute({
  GET: withApiKey({ operation: "users.manage" }, async ({ context, actor }) => {
    return json({ data: await context.keyward.users.list(actor) });
  }),
  POST: withApiKey({ operation: "users.manage" }, idempotent(async ({ request, context, actor }) => {
    const input = await readJson(request, createUserBody);
    return json(await context.keyward.users.create(actor, input), { status: 201 });
  })),
});
export const loader = route.loader;
export const action = route.action;
