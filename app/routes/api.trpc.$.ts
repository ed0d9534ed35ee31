import { logger } from "~/lib/logger.server";
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { recordUsage } from "../lib/api-key-middleware.server";
import { BODY_TOO_LARGE, MAX_BODY_BYTES, readCappedBody } from "../lib/http.server";
import { appRouter } from "../trpc/root.server";
import { createContext, type TrpcContext } from "../trpc/trpc.server";

/** tRPC over the fetch adapter: the SDK's door (Bearer key) and the dashboard's (session cookie). */
async function handle(args: LoaderFunctionArgs | ActionFunctionArgs) {
  const { request, context } = args;
  const started = performance.now();
  const body = await readCappedBody(request);
  let trpcContext: TrpcContext | undefined;
  const response = await fetchRequestHandler({
    endpoint: "/api/trpc",
    // A query (GET) has no body to hand on: the request goes as it came, with no copy made.
    req: body === BODY_TOO_LARGE || body === null ? request : new Request(request, { body, duplex: "half" } as RequestInit),
    router: appRouter,
    createContext: async ({ info, resHeaders }) => {
      // Thrown from here, the refusal answers every call in tRPC's shape, before any input is parsed.
      if (body === BODY_TOO_LARGE) throw new TRPCError({ code: "PAYLOAD_TOO_LARGE", message: `The body is larger than ${MAX_BODY_BYTES} bytes` });
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
  // The rest of an oversized body is never read, so the connection cannot carry another request.
  if (body === BODY_TOO_LARGE) response.headers.set("Connection", "close");
  // Calls made with a key are counted like REST requests (sessions are the dashboard, not API usage).
  const keyUse = trpcContext?.keyUse;
  if (!keyUse) return response;
  const accepted = keyUse.admitted && keyUse.scopeRefusals < keyUse.calls;
  return recordUsage(args, new URL(request.url), keyUse.keyId, response, started, accepted);
}

export const loader = handle;
export const action = handle;
