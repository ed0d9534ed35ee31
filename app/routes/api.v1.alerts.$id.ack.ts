import { withApiKey } from "~/lib/api-key-middleware.server";
import { idempotent } from "~/lib/idempotency.server";
import { apiRoute, json } from "~/lib/http.server";

/** Acknowledges an open alert (idempotent); a resolved one is 409. */
const route = apiRoute({
  POST: withApiKey({ operation: "security.ack" }, idempotent(async ({ params, context, actor }) => {
    return json(await context.keyward.security.ack(actor, params.id ?? ""));
  })),
});
export const loader = route.loader;
export const action = route.action;
