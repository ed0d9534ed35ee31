import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "../trpc/root.server";
import { createContext } from "../trpc/trpc.server";

/** tRPC over the fetch adapter: the SDK's door (Bearer key) and the dashboard's (session cookie). */
function handle({ request, context }: LoaderFunctionArgs | ActionFunctionArgs) {
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext: () => createContext({ keyward: context.keyward, request, clientIp: context.clientIp, requestId: context.requestId }),
    onError({ error }) {
      if (error.code === "INTERNAL_SERVER_ERROR") console.error(`[${context.requestId}] tRPC internal error`, error.cause ?? error);
    },
  });
}

export const loader = handle;
export const action = handle;
