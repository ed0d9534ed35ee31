import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import net from "node:net";
import { Redis } from "ioredis";
import { freePort } from "../../scripts/lib/server-process";
import { inCI } from "./ci";

// Re-exported for private-postgres.ts, which takes its ports from here.
export { freePort };

/** Whether a `redis-server` binary is on the PATH. */
export const hasRedisServer = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;

/**
 * Whether suites that need a private Redis run: skipped only where no `redis-server` is installed;
 * in CI they run regardless, so a missing binary fails the build instead of hiding the tests.
 * Use as `describe.skipIf(!redisTestsRun)`.
 */
export const redisTestsRun = hasRedisServer || inCI;

export interface PrivateRedis {
  url: string;
  port: number;
  /** Stops the server (SIGTERM) and waits for it to exit; the port stays reserved for `start`. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (no persistence). */
  start(): Promise<void>;
  /** A short-lived client for assertions and faults (FLUSHALL, KEYS, PUBSUB…). */
  command<T = unknown>(...args: (string | number)[]): Promise<T>;
  close(): Promise<void>;
}

/**
 * A `redis-server` of this test's own on a free port, without persistence, so tests may stop,
 * flush and restart it. The machine's shared Redis (6379) is never touched.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;

  const start = async () => {
    const spawned = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning", "--enable-debug-command", "local"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    child = spawned;
    let stderr = "";
    spawned.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<never>((_, reject) =>
      spawned.once("exit", (code) => reject(new Error(`redis-server on ${port} exited (${code}): ${stderr}`))),
    );
    exited.catch(() => {});
    await Promise.race([waitForPing(port), exited]);
  };

  const stop = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
    running.kill("SIGTERM");
    await exited;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    async command<T>(...args: (string | number)[]) {
      const client = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await client.connect();
        return (await client.call(String(args[0]), ...args.slice(1))) as T;
      } finally {
        client.disconnect();
      }
    },
    close: stop,
  };
}

/** Resolves once the server answers PING on the port (10 s at most). */
async function waitForPing(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const answered = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.setTimeout(500);
      socket.once("connect", () => socket.write("PING\r\n"));
      socket.once("data", (data) => {
        socket.destroy();
        resolve(data.toString().startsWith("+PONG"));
      });
      socket.once("error", () => resolve(false));
      socket.once("timeout", () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within 10 s`);
}
