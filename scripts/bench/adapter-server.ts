/**
 * One server for `npm run bench:adapter` (scripts/bench/adapter.ts starts two): the production build and
 * services as `npm start` runs them, with Remix behind the adapter KEYWARD_HTTP_ADAPTER names.
 *   node     production's server (app/server/http.ts createHttpServer: the chain, then node:http straight to Remix)
 *   express  the same chain as Express middleware, then @remix-run/express, as production ran until ADR 0014
 * PORT and HOST say where to listen; SIGTERM closes it. Any IPC message is answered with the process's
 * CPU time so far (process.cpuUsage()), so the benchmark can charge each run's CPU to its requests.
 * It prints what it read from its environment (adapter, address, database, Redis) on stderr at start.
 */
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createRequestHandler } from "@remix-run/express";
import type { ServerBuild } from "@remix-run/node";
import express from "express";
import { loadConfig } from "../../app/config.server";
import { logger, routeConsoleTo } from "../../app/lib/logger.server";
import { createHttpServer, createPipeline, type HttpAppOptions } from "../../app/server/http";
import type { Keyward, KeywardOptions } from "../../app/services/keyward.server";
import { describeBackend, printEnvironment } from "../lib/bench-env";

type BuildWithServices = ServerBuild & { entry: { module: { createKeyward(options: KeywardOptions): Promise<Keyward> } } };

function createExpressServer({ build, keyward }: HttpAppOptions): http.Server {
  const pipeline = createPipeline({ keyward });
  const app = express();
  app.disable("x-powered-by");
  // The same hop count as clientAddress, so the adapter's req.protocol and req.hostname trust only our own proxies.
  app.set("trust proxy", keyward.config.trustProxy);
  app.use(pipeline.prepare);
  app.use(createRequestHandler({ build, mode: "production", getLoadContext: (req) => pipeline.loadContext(req) }));
  app.use(((error, req, res, _next) => pipeline.answerUnhandled(error, req, res)) satisfies express.ErrorRequestHandler);
  return http.createServer(app);
}

const adapter = process.env.KEYWARD_HTTP_ADAPTER;
if (adapter !== "node" && adapter !== "express") throw new Error(`KEYWARD_HTTP_ADAPTER must be "node" or "express", not ${JSON.stringify(adapter)}`);
routeConsoleTo(logger);
const config = loadConfig();
printEnvironment(`adapter server (${adapter})`, {
  KEYWARD_HTTP_ADAPTER: adapter,
  PORT: String(config.port),
  HOST: config.host,
  ...describeBackend(config.database.kind === "postgres" ? { databaseUrl: config.database.url, redisUrl: config.redisUrl } : { dataDir: config.database.dataDir, redisUrl: config.redisUrl }),
});
const build = (await import(pathToFileURL(path.resolve("build/index.js")).href)) as BuildWithServices;
const keyward = await build.entry.module.createKeyward({ config });
const server = (adapter === "node" ? createHttpServer : createExpressServer)({ build, keyward });
server.listen(config.port, config.host);
process.on("message", () => process.send?.(process.cpuUsage()));
process.on("SIGTERM", () => {
  server.close(async () => {
    await keyward.close();
    process.exit(0);
  });
  server.closeAllConnections();
});
