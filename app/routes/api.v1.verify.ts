import { withApiKey } from "~/lib/api-key-middleware.server";
import { verifyKeyInput } from "~/lib/api-schemas";
import { apiRoute, json, readJson } from "~/lib/http.server";
import { verifyIssuedKey } from "~/services/verification.server";

/** For services protecting their own APIs with keys Keyward issued for them: always 200 for a well-formed request, the verdict in the body. */
const route = apiRoute({
  POST: withApiKey({ operation: "verify" }, async ({ request, context, actor }) => {
    const input = await readJson(request, verifyKeyInput);
    return json(await verifyIssuedKey(context.keyward, input, { caller: actor }));
  }),
});
export const loader = route.loader;
export const action = route.action;
