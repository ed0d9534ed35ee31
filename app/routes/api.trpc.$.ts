import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "../trpc/root.server";
import { createContext, type TrpcContext } from "../trpc/trpc.server";

/** tRPC over the fetch adapter: the SDK's door (Bearer key) and the dashboard's (session cookie). */
async function handle({ request, context }: LoaderFunctionArgs | ActionFunctionArgs) {
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
      if (error.code === "INTERNAL_SERVER_ERROR") console.error(`[${context.requestId}] tRPC internal error`, error.cause ?? error);
    },
  });
  // Calls made with a key are counted like REST requests (sessions are the dashboard, not API usage).
  const keyId = trpcContext?.keyId;
  if (keyId) {
    context.keyward.usage?.record({
      keyId,
      at: context.keyward.clock.now(),
      method: request.method,
      path: new URL(request.url).pathname,
      status: response.status,
      clientIp: context.clientIp,
      durationMs: performance.now() - started,
      userAgent: request.headers.get("user-agent")?.slice(0, 512) ?? null,
      requestId: context.requestId,
    });
  }
  return response;
}

export const loader = handle;
export const action = handle;
