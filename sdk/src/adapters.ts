/**
 * The guard for servers that do not speak Fetch: Express / Connect middleware and a Fastify
 * `preHandler` hook. Typed structurally, so neither framework is a dependency of the SDK (nor
 * imported by it): any request with `headers` (and `ip`) and any response with Node's `statusCode`
 * / `setHeader` / `end` (or Fastify's `code` / `header` / `send`) fits.
 */
import type { GuardResult, KeywardGuard, Principal } from "./guard";

/** Request headers as Node parses them (lower-case names; a repeated header may be an array). */
export type NodeLikeHeaders = Record<string, string | string[] | undefined>;

/** What `expressGuard` reads of a request: Express's, Connect's or Node's own `IncomingMessage`. */
export interface NodeLikeRequest {
  headers: NodeLikeHeaders;
  /** Express's `req.ip` (it follows the app's `trust proxy` setting); absent on Connect and plain Node. */
  ip?: string | undefined;
  socket?: { remoteAddress?: string | undefined } | undefined;
  /** Set by the adapter once the key is verified: who is calling. */
  keyward?: Principal | undefined;
}

/** What `expressGuard` needs of a response: Node's `ServerResponse` (Express's and Connect's are one). */
export interface NodeLikeResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body: string): unknown;
}

/** What `fastifyGuard` reads of a request: Fastify's. */
export interface FastifyLikeRequest {
  headers: NodeLikeHeaders;
  /** Fastify's `request.ip` (it follows the `trustProxy` option). */
  ip?: string | undefined;
  /** Set by the adapter once the key is verified: who is calling. */
  keyward?: Principal | undefined;
}

/** What `fastifyGuard` needs of a reply: Fastify's. */
export interface FastifyLikeReply {
  code(statusCode: number): unknown;
  header(name: string, value: string): unknown;
  /** Given the body's bytes, so Fastify sends them as they are, under the guard's `Content-Type` (a string would gain `; charset=utf-8`). */
  send(payload: Uint8Array): unknown;
}

export interface AdapterOptions<Req> {
  /**
   * Your caller's address, sent to Keyward for keys with an IP allowlist (such a key is refused
   * without it). The guard's own `clientIp` (which reads a Fetch `Request`) is not used by the adapters.
   * @default `req.ip` (Express: per `trust proxy`; Fastify: per `trustProxy`), else the socket's address
   */
  clientIp?: (request: Req) => string | null | undefined;
}

/** The headers the guard reads the key from; nothing else of the request is handed to it. */
const CREDENTIAL_HEADERS = ["authorization", "x-api-key"] as const;

/**
 * A Fetch `Request` carrying the request's credential headers, for the guard: it reads the key from
 * there exactly as it does for a Fetch handler. A value Fetch's `Headers` will not take still counts
 * as presented (and is refused as an invalid key), never as missing.
 */
function credentialsOf(headers: NodeLikeHeaders): Request {
  const forwarded = new Headers();
  for (const name of CREDENTIAL_HEADERS) {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw.join(", ") : raw;
    if (value === undefined) continue;
    try {
      forwarded.set(name, value);
    } catch {
      forwarded.set(name, "unreadable");
    }
  }
  return new Request("http://keyward-guard.invalid/", { headers: forwarded });
}

function addressOf(request: { ip?: string | undefined; socket?: { remoteAddress?: string | undefined } | undefined }): string | undefined {
  return request.ip || request.socket?.remoteAddress || undefined;
}

async function check<Req extends { headers: NodeLikeHeaders; ip?: string | undefined }>(guard: KeywardGuard, request: Req, options: AdapterOptions<Req>): Promise<GuardResult> {
  const ip = options.clientIp ? options.clientIp(request) : addressOf(request);
  return guard(credentialsOf(request.headers), ip ? { ip } : {});
}

/**
 * The guard as Express / Connect middleware: a verified key sets `req.keyward` (the `Principal`) and
 * passes on; any other request is answered here with the guard's own answer — the status, the
 * `application/problem+json` body and the headers (`WWW-Authenticate`, `Retry-After`,
 * `RateLimit-*`, `Cache-Control: no-store`) a Fetch handler would return.
 *
 * @example
 * const guard = keywardGuard({ client: createKeyward(), apiId: "api_…", permissions: ["orders.read"] });
 * app.use("/api", expressGuard(guard));
 * app.get("/api/orders", (req, res) => res.json({ customer: req.keyward?.identity?.externalId }));
 */
export function expressGuard<Req extends NodeLikeRequest = NodeLikeRequest>(
  guard: KeywardGuard,
  options: AdapterOptions<Req> = {},
): (req: NoInfer<Req>, res: NodeLikeResponse, next: (error?: unknown) => void) => void {
  async function handle(req: Req, res: NodeLikeResponse, next: (error?: unknown) => void): Promise<void> {
    let result: GuardResult;
    let body: string;
    try {
      result = await check(guard, req, options);
      body = result.ok ? "" : await result.response.text();
    } catch (error) {
      return next(error);
    }
    // Outside the try: whatever the rest of the app throws from next() is not the guard's failure, and next runs once.
    if (result.ok) {
      req.keyward = result.principal;
      return next();
    }
    try {
      res.statusCode = result.response.status;
      for (const [name, value] of result.response.headers) res.setHeader(name, value);
      res.end(body);
    } catch (error) {
      // E.g. an earlier middleware already answered: the framework's error handling decides.
      next(error);
    }
  }
  return (req, res, next) => void handle(req, res, next);
}

/**
 * The guard as a Fastify `preHandler` hook (`app.addHook("preHandler", …)`, or a route's
 * `preHandler`): a verified key sets `request.keyward` (the `Principal`) and the handler runs; any
 * other request is answered here with the guard's own answer — the status, the
 * `application/problem+json` body and the headers a Fetch handler would return.
 *
 * @example
 * app.decorateRequest("keyward", undefined);
 * app.addHook("preHandler", fastifyGuard(keywardGuard({ client: createKeyward(), apiId: "api_…" })));
 * app.get("/orders", async (request) => ({ customer: request.keyward?.identity?.externalId }));
 */
export function fastifyGuard<Req extends FastifyLikeRequest = FastifyLikeRequest>(
  guard: KeywardGuard,
  options: AdapterOptions<Req> = {},
  // NoInfer: where a route's `preHandler` option gives the context, Req stays the default instead of being inferred as never.
): (request: NoInfer<Req>, reply: FastifyLikeReply) => Promise<FastifyLikeReply | undefined> {
  return async (request, reply) => {
    const result = await check(guard, request, options);
    if (result.ok) {
      request.keyward = result.principal;
      return undefined;
    }
    const body = new Uint8Array(await result.response.arrayBuffer());
    reply.code(result.response.status);
    for (const [name, value] of result.response.headers) reply.header(name, value);
    reply.send(body);
    // An async hook that answered returns the reply: Fastify then runs no handler.
    return reply;
  };
}
