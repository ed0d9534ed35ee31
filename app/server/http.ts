import crypto from "node:crypto";
import path from "node:path";
import { createRequestHandler } from "@remix-run/express";
import type { AppLoadContext, ServerBuild } from "@remix-run/node";
import compression from "compression";
import express from "express";
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

/** The Express app: security headers, static assets, request ids, client address, then Remix. */
export function createHttpApp({ build, keyward, mode = "production", publicDir = path.resolve("public") }: HttpAppOptions): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.use(compression());
  app.use((req, res, next) => {
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "same-origin");
    res.setHeader("X-Frame-Options", "DENY");
    const inbound = req.get("x-request-id");
    const requestId = inbound && REQUEST_ID.test(inbound) ? inbound : crypto.randomUUID();
    res.locals.requestId = requestId;
    res.setHeader("X-Request-Id", requestId);
    next();
  });
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
      getLoadContext: (req, res): AppLoadContext => ({
        keyward,
        clientIp: clientAddress(req.get("x-forwarded-for"), req.socket.remoteAddress ?? "", keyward.config.trustProxy),
        requestId: res.locals.requestId as string,
      }),
    }),
  );
  return app;
}
