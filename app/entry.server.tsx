import { PassThrough } from "node:stream";
import type { AppLoadContext, EntryContext, HandleErrorFunction } from "@remix-run/node";
import { createReadableStreamFromReadable } from "@remix-run/node";
import { isRouteErrorResponse, RemixServer } from "@remix-run/react";
import { isbot } from "isbot";
import { renderToPipeableStream } from "react-dom/server";
import { logger } from "./lib/logger.server";
import { CspNonce } from "./root";

/** The HTTP server builds its services from this bundle, so routes and services share one copy of every module. */
export { createKeyward } from "./services/keyward.server";

const ABORT_DELAY = 5_000;

/**
 * Errors Remix caught in a loader, action or render, through the redacting logger with the request
 * id, so the error line and the request line can be matched. A route's own 4xx (an unknown URL
 * among them) is the client's mistake, logged at debug; an aborted request is not an error at all.
 */
export const handleError: HandleErrorFunction = (error, { request, context }) => {
  if (request.signal.aborted) return;
  const requestId = context.requestId;
  if (isRouteErrorResponse(error) && error.status < 500) {
    logger.debug({ requestId, status: error.status, err: (error as { error?: unknown }).error }, "route error response");
    return;
  }
  logger.error({ requestId, err: error }, "unhandled error in a route");
};

export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
  loadContext: AppLoadContext,
) {
  // A form refused as too large was left unread, so the connection cannot carry another request.
  if (responseStatusCode === 413) responseHeaders.set("Connection", "close");
  const waitForAll = isbot(request.headers.get("user-agent") ?? "");
  const nonce = loadContext.cspNonce;
  return new Promise<Response>((resolve, reject) => {
    let shellRendered = false;
    const { pipe, abort } = renderToPipeableStream(
      <CspNonce.Provider value={nonce}>
        <RemixServer context={remixContext} url={request.url} abortDelay={ABORT_DELAY} nonce={nonce} />
      </CspNonce.Provider>,
      {
        nonce,
        [waitForAll ? "onAllReady" : "onShellReady"]() {
          shellRendered = true;
          const body = new PassThrough();
          responseHeaders.set("Content-Type", "text/html; charset=utf-8");
          resolve(new Response(createReadableStreamFromReadable(body), { headers: responseHeaders, status: responseStatusCode }));
          pipe(body);
        },
        onShellError(error: unknown) {
          reject(error);
        },
        onError(error: unknown) {
          responseStatusCode = 500;
          // Before the shell is out, the rejection reaches handleError; after it, only this sees the error.
          if (shellRendered) logger.error({ requestId: loadContext.requestId, err: error }, "error while streaming a page");
        },
      },
    );
    setTimeout(abort, ABORT_DELAY);
  });
}
