import { withApiKey } from "~/lib/api-key-middleware.server";
import { idempotent } from "~/lib/idempotency.server";
import { resetPasswordBody, userIdParam } from "~/lib/api-schemas";
import { apiRoute, json, readJson } from "~/lib/http.server";

const route = apiRoute({
  POST: withApiKey({ operation: "users.manage" }, idempotent(async ({ request, params, context, actor }) => {
    const id = userIdParam(params);
    const { password } = await readJson(request, resetPasswordBody);
    return json(await context.keyward.users.resetPassword(actor, id, password));
  })),
});
export const loader = route.loader;
export const action = route.action;
