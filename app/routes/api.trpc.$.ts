import { logger } from "~/lib/logger.server";
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { recordUsage } from "../lib/api-key-middleware.server";
import { MAX_BODY_BYTES } from "../lib/http.server";
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
    req: body === TOO_LARGE ? request : new Request(request, { body, duplex: "half" } as RequestInit),
    router: appRouter,
    createContext: async ({ info, resHeaders }) => {
      // Thrown from here, the refusal answers every call in tRPC's shape, before any input is parsed.
      if (body === TOO_LARGE) throw new TRPCError({ code: "PAYLOAD_TOO_LARGE", message: `The body is larger than ${MAX_BODY_BYTES} bytes` });
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
  if (body === TOO_LARGE) response.headers.set("Connection", "close");
  // Calls made with a key are counted like REST requests (sessions are the dashboard, not API usage).
  const keyUse = trpcContext?.keyUse;
  if (!keyUse) return response;
  const accepted = keyUse.admitted && keyUse.scopeRefusals < keyUse.calls;
  return recordUsage(args, new URL(request.url), keyUse.keyId, response, started, accepted);
}

const TOO_LARGE = Symbol("too large");

/**
 * The body, read as it arrives and given up past MAX_BODY_BYTES (the REST API's cap), so tRPC
 * never holds or parses more: a declared Content-Length over it is refused before any read.
 */
async function readCappedBody(request: Request): Promise<Uint8Array | null | typeof TOO_LARGE> {
  if (Number(request.headers.get("content-length")) > MAX_BODY_BYTES) return TOO_LARGE;
  if (!request.body) return null;
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks);
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      // Not cancel(): that destroys the socket under the client before it can read the 413.
      reader.releaseLock();
      return TOO_LARGE;
    }
    chunks.push(value);
  }
}

export const loader = handle;
export const action = handle;
