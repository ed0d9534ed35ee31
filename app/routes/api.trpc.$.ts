import { logger } from "~/lib/logger.server";
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { recordUsage } from "../lib/api-key-middleware.server";
import { appRouter } from "../trpc/root.server";
import { createContext, type TrpcContext } from "../trpc/trpc.server";

/** tRPC over the fetch adapter: the SDK's door (Bearer key) and the dashboard's (session cookie). */
async function handle(args: LoaderFunctionArgs | ActionFunctionArgs) {
  const { request, context } = args;
  const started = performance.now();
  let trpcContext: TrpcContext | undefined;
  const response = await fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext: async ({ info, resHeaders }) => {
      trpcContext = await createContext({
        keyward: context.keyward,
        request,
        clientIp: context.clientIp,
        requestId: context.requestId,
        calls: Math.max(info.calls.length, 1),
        resHeaders,
      });
      return trpcContext;
    },
    onError({ error }) {
      if (error.code === "INTERNAL_SERVER_ERROR") logger.error({ requestId: context.requestId, err: error.cause ?? error }, "tRPC internal error");
    },
  });
  // Calls made with a key are counted like REST requests (sessions are the dashboard, not API usage).
  const keyId = trpcContext?.keyId;
  return keyId ? recordUsage(args, new URL(request.url), keyId, response, started) : response;
}

export const loader = handle;
export const action = handle;
