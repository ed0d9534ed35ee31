import crypto from "node:crypto";
import path from "node:path";
import { createRequestHandler } from "@remix-run/express";
import type { AppLoadContext, ServerBuild } from "@remix-run/node";
import compression from "compression";
import express from "express";
import { clientAddress } from "../lib/request.server";
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
  app.all(
    "*",
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
