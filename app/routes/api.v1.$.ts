import { refuseCredentialsInUrl } from "~/lib/api-key-middleware.server";
import { toProblem, unknownEndpoint, type ApiArgs } from "~/lib/http.server";

/** Any method on a path under /api/v1 that no route serves. */
async function notFound({ request, context }: ApiArgs): Promise<Response> {
  try {
    await refuseCredentialsInUrl(new URL(request.url), context);
    throw unknownEndpoint(request);
  } catch (error) {
    return toProblem(error, context.requestId);
  }
}

export const loader = notFound;
export const action = notFound;
