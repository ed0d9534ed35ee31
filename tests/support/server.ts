import fs from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerBuild } from "@remix-run/node";
import type { DatabaseHandle } from "../../db/client.server";
import { createHttpServer } from "../../app/server/http";
import type { Clock } from "../../app/services/clock.server";
import { createKeyward } from "../../app/services/keyward.server";
import { testConfig, testKeyward, TEST_HASHING, type TestKeyward } from "./keyward";

const BUILD = path.resolve("build/index.js");

export interface RunningApp {
  url: string;
  keyward: TestKeyward;
  close(): Promise<void>;
}

export interface StartAppOptions {
  clock?: Clock;
  env?: Record<string, string | undefined>;
  /**
   * An open database to serve instead of a fresh one (a second instance on the same Postgres). The
   * caller owns it: closing the app leaves it open. Give both instances the same KEYWARD_SECRET in `env`.
   */
  database?: DatabaseHandle;
}

/** The real HTTP stack (the production server + the Remix production build) on a free port, over a fresh database (or the one given). */
export async function startApp(options: StartAppOptions = {}): Promise<RunningApp> {
  if (!fs.existsSync(BUILD)) throw new Error("No Remix build: run `npm run build` (npm test does it first)");
  const build = (await import(pathToFileURL(BUILD).href)) as ServerBuild;
  const keyward = options.database ? await keywardOn(options.database, options) : await testKeyward(options);
  const server = createHttpServer({ build, keyward }).listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    keyward,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await keyward.dispose();
    },
  };
}

async function keywardOn(database: DatabaseHandle, { clock, env }: StartAppOptions): Promise<TestKeyward> {
  const keyward = await createKeyward({ config: testConfig({ REDIS_URL: process.env.REDIS_URL, ...env }), database, clock, hashing: TEST_HASHING });
  return { ...keyward, dispose: () => keyward.close() };
}

/** Signs in over HTTP and returns the session cookie (name=value). */
export async function login(app: RunningApp, email: string, password: string): Promise<string> {
  const response = await fetch(`${app.url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: app.url },
    body: new URLSearchParams({ email, password }),
  });
  const setCookie = response.headers.get("set-cookie");
  if (response.status !== 302 || !setCookie) throw new Error(`login failed: ${response.status} ${await response.text()}`);
  return setCookie.split(";")[0]!;
}
