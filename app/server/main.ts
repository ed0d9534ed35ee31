import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerBuild } from "@remix-run/node";
import { ConfigError, loadConfig } from "../config.server";
import { logger, routeConsoleTo } from "../lib/logger.server";
import type { Keyward, KeywardOptions } from "../services/keyward.server";
import { createHttpServer, createMetricsServer } from "./http";

/** The production (and development) entry: config, services, HTTP, graceful shutdown. */
const BUILD_PATH = path.resolve("build/index.js");

/** What the process answers a parent's "usage" message with, over an IPC channel. */
export interface ProcessUsage {
  cpu: NodeJS.CpuUsage;
  memory: NodeJS.MemoryUsage;
}

type BuildWithServices = ServerBuild & { entry: { module: { createKeyward(options: KeywardOptions): Promise<Keyward> } } };

async function importBuild(): Promise<BuildWithServices> {
  const stamp = fs.statSync(BUILD_PATH).mtimeMs;
  return (await import(`${pathToFileURL(BUILD_PATH).href}?t=${stamp}`)) as BuildWithServices;
}

async function main(): Promise<void> {
  routeConsoleTo(logger);
  const config = loadConfig();
  for (const warning of config.warnings) logger.warn(warning);
  if (!fs.existsSync(BUILD_PATH)) {
    throw new ConfigError([`No build at ${BUILD_PATH}: run \`npm run build\` first (or \`npm run dev\`).`]);
  }
  const development = process.env.NODE_ENV === "development" && process.env.KEYWARD_DEV === "1";
  let build = await importBuild();
  const keyward = await build.entry.module.createKeyward({ config });

  if (development) {
    const { broadcastDevReady } = await import("@remix-run/node");
    await broadcastDevReady(build);
    fs.watch(path.dirname(BUILD_PATH), { persistent: false }, async (_event, file) => {
      if (file !== "version.txt") return;
      build = await importBuild();
      await broadcastDevReady(build);
    });
  }

  const server = createHttpServer({ build: development ? async () => build : build, keyward, mode: development ? "development" : "production" });
  server.listen(config.port, config.host, () => {
    const shown = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
    const database = keyward.database.kind === "pglite" ? `embedded, ${config.database.kind === "pglite" ? config.database.dataDir : ""}` : "PostgreSQL";
    logger.info({ url: `http://${shown}:${config.port}`, database }, `Keyward is listening on http://${shown}:${config.port} (database: ${database})`);
  });

  // Metrics on a port of their own, when asked: nothing else is served there.
  const metricsServer = keyward.metrics && config.metrics.port !== undefined ? createMetricsServer(keyward.metrics, config.metrics.token, config.trustProxy) : null;
  metricsServer?.listen(config.metrics.port, config.host, () => logger.info({ port: config.metrics.port }, `Metrics on http://${config.host}:${config.metrics.port}/metrics`));

  let stopping = false;
  // While stopping, each answer on a kept-alive connection is its last: clients reconnect elsewhere
  // instead of sending more requests here until the 10 s cut, which would end one mid-answer (counted
  // in usage, never received). Runs after the app's own listener, before any async handler answers.
  server.on("request", (_req, res) => {
    if (stopping && !res.headersSent) res.setHeader("Connection", "close");
  });
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${signal}: finishing in-flight requests, then closing the database`);
    // Bounded drain: idle keep-alive sockets close now, busy ones get up to 10 s.
    metricsServer?.close();
    server.close(async () => {
      await keyward.close();
      process.exit(0);
    });
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 10_000).unref();
  };
  // A parent that started this process with an IPC channel (the load benchmark) may ask for its
  // resource use; the heap is measured after a collection when node runs with --expose-gc.
  if (process.send) {
    process.on("message", (message) => {
      if (message !== "usage") return;
      (globalThis as { gc?: () => void }).gc?.();
      process.send?.({ cpu: process.cpuUsage(), memory: process.memoryUsage() } satisfies ProcessUsage);
    });
  }
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
  // A configuration problem is a message for the operator, not a stack trace.
  if (error instanceof Error && (error.name === "ConfigError" || "code" in error)) logger.fatal(error.message);
  else logger.fatal({ err: error }, "Keyward could not start");
  process.exit(1);
});
