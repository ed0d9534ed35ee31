import { refuseCredentialsInUrl } from "~/lib/api-key-middleware.server";
import { apiRoute, json } from "~/lib/http.server";
import { openApiDocument } from "~/lib/openapi.server";

const route = apiRoute({
  GET: async ({ request, context }) => {
    await refuseCredentialsInUrl(new URL(request.url), context);
    return json(openApiDocument(), { headers: { "Cache-Control": "public, max-age=300" } });
  },
});
export const loader = route.loader;
export const action = route.action;
