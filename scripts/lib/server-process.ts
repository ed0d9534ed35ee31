import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import type { ProcessUsage } from "../../app/server/main";
import { withoutBackend } from "./bench-env";

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGTERM to its process group (nothing it started outlives it); resolves when it has exited. */
  stop(): Promise<void>;
  /** With `ipc`: the server's CPU time and memory, its heap measured right after a full collection. */
  usage(): Promise<ProcessUsage>;
}

/**
 * `node build/server.js` in its own process group on a free port, resolved once `/api/ready` answers
 * 200. The environment given is added to this process's own, except DATABASE_URL and REDIS_URL,
 * which the server gets only when `env` names them; PORT and HOST are set here.
 */
export async function startServerProcess(
  env: Record<string, string | undefined>,
  { readyTimeoutMs = 120_000, ipc = false }: { readyTimeoutMs?: number; ipc?: boolean } = {},
): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...(ipc ? ["--expose-gc"] : []), "build/server.js"], {
    env: { ...withoutBackend(process.env), ...env, PORT: String(port), HOST: "127.0.0.1" },
    detached: true,
    stdio: ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const server: ServerProcess = {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    usage() {
      if (!ipc) return Promise.reject(new Error("startServerProcess(…, { ipc: true }) to ask a server for its usage"));
      return new Promise<ProcessUsage>((resolve) => {
        child.once("message", (usage) => resolve(usage as ProcessUsage));
        child.send("usage");
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // Already gone.
      }
      await exited;
    },
  };
  const started = performance.now();
  while (performance.now() - started < readyTimeoutMs) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${output}`);
    try {
      if ((await fetch(`${server.url}/api/ready`)).ok) return server;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await server.stop();
  throw new Error(`server did not become ready within ${readyTimeoutMs / 1000} s:\n${output}`);
}
