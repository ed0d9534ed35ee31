import { withApiKey } from "~/lib/api-key-middleware.server";
import { idempotent } from "~/lib/idempotency.server";
import { apiRoute, json } from "~/lib/http.server";

/** Resolves an alert (idempotent); if its rule fires again, a new alert opens. */
const route = apiRoute({
  POST: withApiKey({ operation: "security.resolve" }, idempotent(async ({ params, context, actor }) => {
    return json(await context.keyward.security.resolve(actor, params.id ?? ""));
  })),
});
export const loader = route.loader;
export const action = route.action;
