import crypto from "node:crypto";
import { STATUS_CODES } from "node:http";
import path from "node:path";
import { createRequestHandler } from "@remix-run/express";
import type { AppLoadContext, ServerBuild } from "@remix-run/node";
import compression from "compression";
import express from "express";
import { logger } from "../lib/logger.server";
import { clientAddress, isSameOrigin } from "../lib/request.server";
import "../load-context";
import type { Keyward } from "../services/keyward.server";

export interface HttpAppOptions {
  /** The Remix server build, or a function returning the latest one (development). */
  build: ServerBuild | (() => Promise<ServerBuild>);
  keyward: Keyward;
  mode?: "production" | "development";
  /** Folder holding `build/` (client assets) and the favicon; defaults to ./public. */
  publicDir?: string;
}

const REQUEST_ID = /^[\w.:-]{8,128}$/;

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

/** Event streams must reach the browser as they are written: compression would buffer them. */
export function compressionFilter(req: express.Request, res: express.Response): boolean {
  const type = res.getHeader("Content-Type");
  if (typeof type === "string" && type.toLowerCase().startsWith("text/event-stream")) return false;
  return compression.filter(req, res);
}

/** The query string with its values replaced: a misplaced credential must not reach the log. */
function redactedQuery(url: string): string | undefined {
  const at = url.indexOf("?");
  if (at < 0 || at === url.length - 1) return undefined;
  return [...new URLSearchParams(url.slice(at + 1)).keys()].map((name) => `${name}=[REDACTED]`).join("&");
}

/** A Host that cannot make a URL is the client's mistake: a 400, not the 500 Remix's adapter would throw. */
const refuseMalformedHost: express.RequestHandler = (req, res, next) => {
  try {
    new URL(`http://${req.hostname ?? "localhost"}`);
  } catch {
    res.status(400).type("text/plain").send("Malformed Host header");
    return;
  }
  next();
};

/** One log line per request once its response is done (or the client went away): error level for 5xx. */
const logRequests: express.RequestHandler = (req, res, next) => {
  const started = performance.now();
  // Captured now: a mounted middleware (express.static under /build) rewrites req.url meanwhile.
  const path = req.path;
  const query = redactedQuery(req.originalUrl);
  res.once("close", () => {
    const status = res.statusCode;
    const error = res.locals.error as unknown;
    const line = {
      requestId: res.locals.requestId as string,
      method: req.method,
      path,
      ...(query ? { query } : {}),
      status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      ip: res.locals.clientIp as string,
      userAgent: req.get("user-agent")?.slice(0, 256),
      ...(res.writableFinished ? {} : { aborted: true }),
      ...(error ? { err: error } : {}),
    };
    if (status >= 500) logger.error(line, "request failed");
    else if (status < 400 && (path.startsWith("/build/") || path === "/favicon.ico")) logger.debug(line, "asset");
    else logger.info(line, "request");
  });
  next();
};

/** The last resort for anything thrown past Remix: a plain 500 (or the error's own 4xx), logged with the request. */
const answerUnhandled: express.ErrorRequestHandler = (error: unknown, _req, res, next) => {
  res.locals.error = error;
  if (res.headersSent) return next(error);
  const declared = (error as { status?: unknown } | null)?.status;
  const status = typeof declared === "number" && declared >= 400 && declared < 600 ? declared : 500;
  res.status(status).type("text/plain").send(STATUS_CODES[status] ?? "Error");
};

/**
 * Remix aborts a cross-origin POST to a page (e.g. /login) with an empty 500 before any action
 * runs; answer it as the CSRF refusal it is, by the same rule the actions apply. /api/* decides
 * for itself (Bearer keys carry no ambient authority).
 */
function refuseCrossSitePagePosts(configuredOrigin: string | undefined): express.RequestHandler {
  return (req, res, next) => {
    if (req.method === "GET" || req.method === "HEAD" || req.path.startsWith("/api/")) return next();
    const headers = new Headers();
    for (const name of ["origin", "sec-fetch-site"]) {
      const value = req.get(name);
      if (value !== undefined) headers.set(name, value);
    }
    let sameOrigin = false;
    try {
      sameOrigin = isSameOrigin(new Request(`${req.protocol}://${req.get("host")}${req.originalUrl}`, { headers }), configuredOrigin);
    } catch {
      // An unparsable Host: not a request from our own pages.
    }
    if (sameOrigin) return next();
    res.status(403).type("text/plain").send("Cross-site request refused");
  };
}

/** The Express app: request ids and logging, security headers, static assets, client address, then Remix. */
export function createHttpApp({ build, keyward, mode = "production", publicDir = path.resolve("public") }: HttpAppOptions): express.Express {
  const app = express();
  app.disable("x-powered-by");
  // The same hop count as clientAddress, so req.secure believes X-Forwarded-Proto only from our own proxies.
  app.set("trust proxy", keyward.config.trustProxy);
  app.use((req, res, next) => {
    const inbound = req.get("x-request-id");
    const requestId = inbound && REQUEST_ID.test(inbound) ? inbound : crypto.randomUUID();
    res.locals.requestId = requestId;
    res.locals.clientIp = clientAddress(req.get("x-forwarded-for"), req.socket.remoteAddress ?? "", keyward.config.trustProxy);
    res.setHeader("X-Request-Id", requestId);
    next();
  });
  app.use(logRequests);
  app.use(compression({ filter: compressionFilter }));
  app.use((req, res, next) => {
    const nonce = crypto.randomBytes(16).toString("base64");
    res.locals.cspNonce = nonce;
    res.setHeader("Content-Security-Policy", contentSecurityPolicy(nonce));
    if (req.secure) res.setHeader("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "same-origin");
    res.setHeader("X-Frame-Options", "DENY");
    next();
  });
  app.use(refuseMalformedHost);
  // Fingerprinted assets are immutable; everything else in public/ is cached briefly.
  app.use("/build", express.static(path.join(publicDir, "build"), { immutable: true, maxAge: "1y", index: false }));
  app.get("/favicon.ico", express.static(publicDir, { maxAge: "1h", index: false }));
  app.use(refuseCrossSitePagePosts(keyward.config.origin));
  // `use`, not `all("*")`: Express would decode the path as a route parameter and answer a
  // malformed escape (`/api/v1/%E0%A4%A`) with its own HTML 400; Remix tolerates it.
  app.use(
    createRequestHandler({
      build,
      mode,
      getLoadContext: (_req, res): AppLoadContext => ({
        keyward,
        clientIp: res.locals.clientIp as string,
        requestId: res.locals.requestId as string,
        cspNonce: res.locals.cspNonce as string,
      }),
    }),
  );
  app.use(answerUnhandled);
  return app;
}
