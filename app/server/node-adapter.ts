import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { createReadableStreamFromReadable, createRequestHandler, writeReadableStreamToWritable, type AppLoadContext, type ServerBuild } from "@remix-run/node";

export type RemixHandler = (req: IncomingMessage, res: ServerResponse, url: URL, loadContext: AppLoadContext) => Promise<void>;

/**
 * Remix on node's own request and response: what @remix-run/express does, without Express. A Fetch
 * Request goes in (aborted if the client leaves first), the Response is written back as it streams.
 */
export function createRemixHandler(build: ServerBuild | (() => Promise<ServerBuild>), mode: string): RemixHandler {
  const handleRequest = createRequestHandler(build, mode);
  return async (req, res, url, loadContext) => {
    const response = await handleRequest(fetchRequest(req, res, url), loadContext);
    await writeResponse(res, response);
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

async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  res.statusMessage = response.statusText;
  // Iterating Headers yields each Set-Cookie on its own.
  for (const [name, value] of response.headers) appendHeader(res, name, value);
  // An event stream's headers go out at once: its first event may be a while coming.
  if (/text\/event-stream/i.test(response.headers.get("Content-Type") ?? "")) res.flushHeaders();
  // Flushes after every chunk, through compression's res.flush too, so streamed HTML arrives as it renders.
  if (response.body) await writeReadableStreamToWritable(response.body, res);
  else res.end();
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
