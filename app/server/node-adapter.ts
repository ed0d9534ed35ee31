import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { createReadableStreamFromReadable, createRequestHandler, writeReadableStreamToWritable, type AppLoadContext, type ServerBuild } from "@remix-run/node";
import { createResourceRouteTable } from "./resource-routes";

export type RemixHandler = (req: IncomingMessage, res: ServerResponse, url: URL, loadContext: AppLoadContext) => Promise<void>;

/**
 * Remix on node's own request and response: what @remix-run/express does, without Express. A Fetch
 * Request goes in (aborted if the client leaves first), the Response is written back as it streams.
 * With a fixed (production) build, requests under /api/ that Remix would hand straight to a
 * resource route go to that route's loader or action through a dispatch table built once
 * (./resource-routes.ts); pages, and every request in development, go through Remix's handler.
 */
export function createRemixHandler(build: ServerBuild | (() => Promise<ServerBuild>), mode: string): RemixHandler {
  const handleRequest = createRequestHandler(build, mode);
  const resourceRoutes = typeof build === "function" ? null : createResourceRouteTable(build);
  return async (req, res, url, loadContext) => {
    let request: Request | undefined;
    const fetchedRequest = () => (request ??= fetchRequest(req, res, url));
    const dispatched = resourceRoutes && url.pathname.startsWith("/api/") ? resourceRoutes.dispatch(req.method ?? "GET", url, fetchedRequest, loadContext) : null;
    await writeResponse(res, await (dispatched ?? handleRequest(fetchedRequest(), loadContext)));
  };
}

function fetchRequest(req: IncomingMessage, res: ServerResponse, url: URL): Request {
  const controller = new AbortController();
  // Loaders and actions stop once nobody can read their answer; a response sent in full aborts nothing.
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  const init: RequestInit & { duplex?: "half" } = { method: req.method, headers: fetchHeaders(req.headers), signal: controller.signal };
  if (req.method !== "GET" && req.method !== "HEAD") {
    init.body = createReadableStreamFromReadable(req);
    init.duplex = "half";
  }
  return new Request(url.href, init);
}

/** node's parsed headers (repeated Cookie lines already joined with "; ", as Headers would not) as Fetch Headers. */
function fetchHeaders(incoming: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    if (Array.isArray(value)) for (const each of value) headers.append(name, each);
    else if (value) headers.set(name, value);
  }
  return headers;
}

/** JSON answers are made whole (Response.json, a problem): read in one piece, not as a stream. */
const WHOLE_BODY_TYPE = /^application\/(?:problem\+)?json\b/i;

async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  res.statusMessage = response.statusText;
  // Iterating Headers yields each Set-Cookie on its own.
  for (const [name, value] of response.headers) appendHeader(res, name, value);
  const type = response.headers.get("Content-Type") ?? "";
  if (!response.body) return void res.end();
  // A JSON body that is not declared a stream (tRPC's streamed batches say Transfer-Encoding: chunked)
  // is read whole and sent with its length: one write instead of a stream reader's chunk loop.
  if (WHOLE_BODY_TYPE.test(type) && !response.headers.has("Transfer-Encoding")) {
    const body = Buffer.from(await response.arrayBuffer());
    if (!res.hasHeader("Content-Length")) res.setHeader("Content-Length", body.length);
    return void res.end(body);
  }
  // An event stream's headers go out at once: its first event may be a while coming.
  if (/text\/event-stream/i.test(type)) res.flushHeaders();
  // Flushes after every chunk, through compression's res.flush too, so streamed HTML arrives as it renders.
  await writeReadableStreamToWritable(response.body, res);
}

const TEXT_TYPE = /^text\/|^application\/(javascript|json)/;

/**
 * Adds to a header the chain already set instead of replacing it, and names utf-8 on a text type
 * without a charset: the headers clients got from the Express adapter, byte for byte.
 */
function appendHeader(res: ServerResponse, name: string, value: string): void {
  if (name === "content-type" && !/;\s*charset\s*=/.test(value) && TEXT_TYPE.test(value.split(";")[0]!)) value += "; charset=utf-8";
  const previous = res.getHeader(name);
  if (previous === undefined) res.setHeader(name, value);
  else res.setHeader(name, [...(Array.isArray(previous) ? previous : [String(previous)]), value]);
}
