import { withApiKey } from "~/lib/api-key-middleware.server";
import { reportVerificationsInput } from "~/lib/api-schemas";
import { apiRoute, json, readJson } from "~/lib/http.server";
import { reportGuardAdmissions } from "~/services/verification.server";

/** For the SDK guard: requests it admitted on a cached verdict, recorded as the verifications they stand for (ADR 21). */
const route = apiRoute({
  POST: withApiKey({ operation: "verify.report" }, async ({ request, context, actor }) => {
    const input = await readJson(request, reportVerificationsInput);
    return json(await reportGuardAdmissions(context.keyward, input, { caller: actor }));
  }),
});
export const loader = route.loader;
export const action = route.action;
