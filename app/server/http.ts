import crypto from "node:crypto";
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import path from "node:path";
import type { TLSSocket } from "node:tls";
import type { AppLoadContext, ServerBuild } from "@remix-run/node";
import compression from "compression";
import serveStatic from "serve-static";
import { logger } from "../lib/logger.server";
import { clientAddress, isSameOrigin } from "../lib/request.server";
import "../load-context";
import type { Keyward } from "../services/keyward.server";
import { methodLabel, routeLabel, type Metrics } from "../services/metrics.server";
import { createRemixHandler } from "./node-adapter";

export interface HttpAppOptions {
  /** The Remix server build, or a function returning the latest one (development). */
  build: ServerBuild | (() => Promise<ServerBuild>);
  keyward: Keyward;
  mode?: "production" | "development";
  /** Folder holding `build/` (client assets) and the favicon; defaults to ./public. */
  publicDir?: string;
}

export type Next = (error?: unknown) => void;
/** A connect-style step on node's own request and response, so the chain runs under any server (ADR 0014). */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

/** What the chain learns about a request: read by its later steps, its log line and the load context. */
export interface RequestState {
  requestId: string;
  /** The client's address (socket peer, or X-Forwarded-For per KEYWARD_TRUST_PROXY). */
  clientIp: string;
  /** The nonce of a page's scripts; empty for the API routes, which serve no scripts. */
  cspNonce: string;
  /** The URL Remix sees; null when the Host (or a trusted proxy's X-Forwarded-*) cannot make one. */
  url: URL | null;
  /** The path and query as received: the /build mount rewrites req.url meanwhile. */
  originalUrl: string;
  /**
   * The path Remix routes: `url`'s, with dot-segments (also `%2e`-encoded) resolved and backslashes
   * read as slashes by the WHATWG parser. Every step that decides by path reads this one, so
   * `/api/../login` is judged as the `/login` it reaches.
   */
  path: string;
  /** What ended the request, for its log line. */
  error?: unknown;
}

const REQUEST_ID = /^[\w.:-]{8,128}$/;
/**
 * The paths the API routes serve (their splats, and the three fixed ones). Anything else under
 * /api/ is rendered by the pages (their 404), so it is a page here too.
 */
const API_ROUTE = /^\/api\/(?:(?:v1|trpc)(?:\/|$)|(?:events|health|ready)\/?$)/;
const states = new WeakMap<IncomingMessage, RequestState>();

export function requestState(req: IncomingMessage): RequestState {
  const state = states.get(req);
  if (!state) throw new Error("The request state is made by the chain's first step, which has not run for this request");
  return state;
}

/**
 * Scripts only from this origin or carrying this response's nonce (Remix's inline context and
 * module scripts, the theme script). Inline styles stay allowed: React renders `style` attributes
 * and the toaster injects its stylesheet, and neither can carry a nonce.
 */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

// compression's type declarations name Express's request and response; the package itself uses only node's.
type CompressionArguments = Parameters<typeof compression.filter>;

/** Event streams must reach the browser as they are written: compression would buffer them. */
export function compressionFilter(req: IncomingMessage, res: ServerResponse): boolean {
  const type = res.getHeader("Content-Type");
  if (typeof type === "string" && type.toLowerCase().startsWith("text/event-stream")) return false;
  return compression.filter(req as CompressionArguments[0], res as CompressionArguments[1]);
}

/** A request header as one string (node already joins repeated ones). */
function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** The first entry of a proxy header, if any. */
function firstEntry(value: string | undefined): string | undefined {
  return value?.split(",")[0]!.trim() || undefined;
}

/**
 * The URL as the client asked for it. Scheme and host come from the connection and Host, or from
 * X-Forwarded-Proto/-Host when KEYWARD_TRUST_PROXY trusts the proxy that set them (Express's `trust proxy` rule).
 */
function requestUrl(req: IncomingMessage, originalUrl: string, trustProxy: number): URL | null {
  const trusted = trustProxy > 0;
  const scheme = (trusted && firstEntry(header(req, "x-forwarded-proto"))) || ((req.socket as TLSSocket).encrypted ? "https" : "http");
  const host = (trusted && firstEntry(header(req, "x-forwarded-host"))) || req.headers.host || "localhost";
  try {
    return new URL(`${scheme}://${host}${originalUrl}`);
  } catch {
    return null;
  }
}

/** The query string with its values replaced: a misplaced credential must not reach the log. */
function redactedQuery(url: string): string | undefined {
  const at = url.indexOf("?");
  if (at < 0 || at === url.length - 1) return undefined;
  return [...new URLSearchParams(url.slice(at + 1)).keys()].map((name) => `${name}=[REDACTED]`).join("&");
}

/** A short plain-text answer. */
function sendText(req: IncomingMessage, res: ServerResponse, status: number, text: string): void {
  const body = Buffer.from(text);
  res.statusCode = status;
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.setHeader("Content-Length", body.length);
  res.end(req.method === "HEAD" ? undefined : body);
}

/** The request's id (a sane inbound X-Request-Id, or a new one), client address, CSP nonce (pages only) and URL. */
function identifyRequests(trustProxy: number): Middleware {
  return (req, res, next) => {
    const inbound = header(req, "x-request-id");
    const requestId = inbound && REQUEST_ID.test(inbound) ? inbound : crypto.randomUUID();
    const originalUrl = req.url ?? "/";
    const query = originalUrl.indexOf("?");
    const url = requestUrl(req, originalUrl, trustProxy);
    // Without a URL the request is refused (refuseMalformedHost) before any step decides by path.
    const pathname = url?.pathname ?? (query < 0 ? originalUrl : originalUrl.slice(0, query));
    states.set(req, {
      requestId,
      clientIp: clientAddress(header(req, "x-forwarded-for"), req.socket.remoteAddress ?? "", trustProxy),
      cspNonce: API_ROUTE.test(pathname) ? "" : crypto.randomBytes(16).toString("base64"),
      url,
      originalUrl,
      path: pathname,
    });
    res.setHeader("X-Request-Id", requestId);
    next();
  };
}

/** One log line per request once its response is done (or the client went away): error level for a failure; and its metric. */
const logRequests = (metrics: Metrics | undefined): Middleware => (req, res, next) => {
  const started = performance.now();
  const state = requestState(req);
  const query = redactedQuery(state.originalUrl);
  res.once("close", () => {
    const status = res.statusCode;
    metrics?.observeRequest(methodLabel(req.method), routeLabel(state.path, status), status, (performance.now() - started) / 1000);
    const { error } = state;
    const line = {
      requestId: state.requestId,
      method: req.method,
      path: state.path,
      ...(query ? { query } : {}),
      status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      ip: state.clientIp,
      userAgent: header(req, "user-agent")?.slice(0, 256),
      ...(res.writableFinished ? {} : { aborted: true }),
      ...(error ? { err: error } : {}),
    };
    // A 5xx, or an error that cut a response short after its status went out.
    if (status >= 500 || (error && !res.writableFinished)) logger.error(line, "request failed");
    else if (status < 400 && (state.path.startsWith("/build/") || state.path === "/favicon.ico")) logger.debug(line, "asset");
    else logger.info(line, "request");
  });
  next();
};

/**
 * GET /metrics: the Prometheus text format. With a token, only `Authorization: Bearer <token>`
 * (compared in constant time) gets it; anything else is a 401 that says nothing more.
 */
export function serveMetrics(metrics: Metrics, token: string | undefined): Middleware {
  const expected = token ? crypto.createHash("sha256").update(token).digest() : null;
  return (req, res, next) => {
    if (requestState(req).path !== "/metrics") return next();
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return sendText(req, res, 405, "Method Not Allowed");
    }
    if (expected) {
      const presented = /^Bearer (.+)$/.exec(header(req, "authorization") ?? "")?.[1] ?? "";
      if (!crypto.timingSafeEqual(crypto.createHash("sha256").update(presented).digest(), expected)) {
        res.setHeader("WWW-Authenticate", 'Bearer realm="keyward-metrics"');
        return sendText(req, res, 401, "Unauthorized");
      }
    }
    metrics.render().then(
      ({ body, contentType }) => {
        res.statusCode = 200;
        res.setHeader("Content-Type", contentType);
        res.setHeader("Cache-Control", "no-store");
        res.end(req.method === "HEAD" ? undefined : body);
      },
      (error: unknown) => next(error),
    );
  };
}

/** The metrics on a port of their own (KEYWARD_METRICS_PORT): nothing else is served there. */
export function createMetricsServer(metrics: Metrics, token: string | undefined, trustProxy: number): http.Server {
  const steps = chain([identifyRequests(trustProxy), serveMetrics(metrics, token)]);
  return http.createServer((req, res) => steps(req, res, (error) => (error ? sendText(req, res, 500, "Internal Server Error") : sendText(req, res, 404, "Not Found"))));
}

/** The API answers JSON, problems and event streams, never a document: nothing in one may load or run anything. */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

const securityHeaders: Middleware = (req, res, next) => {
  const { cspNonce, url } = requestState(req);
  res.setHeader("Content-Security-Policy", cspNonce ? contentSecurityPolicy(cspNonce) : API_CONTENT_SECURITY_POLICY);
  if (url?.protocol === "https:") res.setHeader("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "same-origin");
  res.setHeader("X-Frame-Options", "DENY");
  next();
};

/** A Host that cannot make a URL is the client's mistake: a 400, not a 500 from building Remix's request. */
const refuseMalformedHost: Middleware = (req, res, next) => {
  if (requestState(req).url) return next();
  sendText(req, res, 400, "Malformed Host header");
};

/**
 * Once the response is finished, whatever of the body is left unread (Remix answered a 405, or redirected
 * before parsing the form) is read and dropped, as node does for a body nobody touched. The Remix adapters
 * start reading every body, so node would not: the paused request held the connection until the
 * keep-alive timeout reset it under a client still sending.
 */
const drainUnreadBodies: Middleware = (req, res, next) => {
  res.once("finish", () => {
    if (req.complete) return;
    req.removeAllListeners("data");
    req.resume();
  });
  next();
};

/** Fingerprinted assets under /build are immutable; the favicon is cached briefly. Anything else goes on. */
function serveAssets(publicDir: string): Middleware {
  const assets = serveStatic(path.join(publicDir, "build"), { immutable: true, maxAge: "1y", index: false });
  const favicon = serveStatic(publicDir, { maxAge: "1h", index: false });
  return (req, res, next) => {
    const { path: pathname, url, originalUrl } = requestState(req);
    const isFavicon = pathname === "/favicon.ico";
    if (!isFavicon && pathname !== "/build" && !pathname.startsWith("/build/")) return next();
    // The file servers see the normalised path (below /build for the mounted assets), never the raw one.
    const search = url?.search ?? "";
    req.url = isFavicon ? `${pathname}${search}` : `/${pathname.slice("/build".length).replace(/^\//, "")}${search}`;
    (isFavicon ? favicon : assets)(req, res, (error?: unknown) => {
      req.url = originalUrl;
      next(error);
    });
  };
}

/**
 * Remix aborts a cross-origin POST to a page (e.g. /login) with an empty 500 before any action
 * runs; answer it as the CSRF refusal it is, by the same rule (and on the same URL) the actions
 * apply. The API routes decide for themselves (Bearer keys carry no ambient authority). Judged on
 * the normalised path, so `/api/../login` is the page it reaches.
 */
function refuseCrossSitePagePosts(configuredOrigin: string | undefined): Middleware {
  return (req, res, next) => {
    const { path: pathname, url } = requestState(req);
    if (req.method === "GET" || req.method === "HEAD" || API_ROUTE.test(pathname)) return next();
    const headers = new Headers();
    for (const name of ["origin", "sec-fetch-site"]) {
      const value = header(req, name);
      if (value !== undefined) headers.set(name, value);
    }
    if (url && isSameOrigin(new Request(url, { headers }), configuredOrigin)) return next();
    sendText(req, res, 403, "Cross-site request refused");
  };
}

/** Runs the steps in order; an error, thrown or passed to `next`, skips the rest and goes to `done`. */
function chain(steps: Middleware[]): Middleware {
  return (req, res, done) => {
    let index = 0;
    const next: Next = (error) => {
      const step = steps[index++];
      if (error || !step) return done(error);
      try {
        step(req, res, next);
      } catch (thrown) {
        done(thrown);
      }
    };
    next();
  };
}

export interface HttpPipeline {
  /** Every step before Remix: ids and logging, compression, security headers, the Host check, static assets, the CSRF refusal. */
  prepare: Middleware;
  /** What loaders, actions and resource routes receive for this request. */
  loadContext(req: IncomingMessage): AppLoadContext;
  /** The last resort for anything thrown past Remix: a plain 500 (or the error's own 4xx), logged with the request. */
  answerUnhandled(error: unknown, req: IncomingMessage, res: ServerResponse): void;
}

/** The request chain, apart from the server and the Remix adapter that run it. */
export function createPipeline({ keyward, publicDir = path.resolve("public") }: Pick<HttpAppOptions, "keyward" | "publicDir">): HttpPipeline {
  return {
    prepare: chain([
      identifyRequests(keyward.config.trustProxy),
      logRequests(keyward.metrics),
      ...(keyward.metrics && keyward.config.metrics.port === undefined ? [serveMetrics(keyward.metrics, keyward.config.metrics.token)] : []),
      drainUnreadBodies,
      compression({ filter: compressionFilter }) as unknown as Middleware,
      securityHeaders,
      refuseMalformedHost,
      serveAssets(publicDir),
      refuseCrossSitePagePosts(keyward.config.origin),
    ]),
    loadContext(req) {
      const { clientIp, requestId, cspNonce } = requestState(req);
      return { keyward, clientIp, requestId, cspNonce };
    },
    answerUnhandled(error, req, res) {
      const state = states.get(req);
      if (state) state.error = error;
      // Too late for a status: cutting the connection tells the client the body is incomplete.
      if (res.headersSent) return void res.destroy();
      const declared = (error as { status?: unknown } | null)?.status;
      const status = typeof declared === "number" && declared >= 400 && declared < 600 ? declared : 500;
      sendText(req, res, status, STATUS_CODES[status] ?? "Error");
    },
  };
}

/** The HTTP server: the request chain, then Remix through a plain node:http adapter (measured faster than Express, ADR 0014). */
export function createHttpServer({ build, keyward, mode = "production", publicDir }: HttpAppOptions): http.Server {
  const pipeline = createPipeline({ keyward, publicDir });
  const remix = createRemixHandler(build, mode);
  return http.createServer((req, res) => {
    pipeline.prepare(req, res, (error) => {
      if (error) return pipeline.answerUnhandled(error, req, res);
      // refuseMalformedHost has answered every request without a URL.
      remix(req, res, requestState(req).url!, pipeline.loadContext(req)).catch((thrown: unknown) => pipeline.answerUnhandled(thrown, req, res));
    });
  });
}
