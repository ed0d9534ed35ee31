import { withApiKey } from "~/lib/api-key-middleware.server";
import { updateUserBody, userIdParam } from "~/lib/api-schemas";
import { apiRoute, json, readJson } from "~/lib/http.server";

const route = apiRoute({
  GET: withApiKey({ operation: "users.manage" }, async ({ params, context, actor }) => {
    return json(await context.keyward.users.get(actor, userIdParam(params)));
  }),
  /** The role first, then the status; each change is audited on its own, as on the dashboard. */
  PATCH: withApiKey({ operation: "users.manage" }, async ({ request, params, context, actor }) => {
    const id = userIdParam(params);
    const patch = await readJson(request, updateUserBody);
    const { users } = context.keyward;
    let user = await users.get(actor, id);
    if (patch.role !== undefined) user = await users.setRole(actor, id, patch.role);
    if (patch.disabled === true) user = await users.disable(actor, id);
    if (patch.disabled === false) user = await users.enable(actor, id);
    return json(user);
  }),
});
export const loader = route.loader;
export const action = route.action;
