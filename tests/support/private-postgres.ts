import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "./redis";

const run = promisify(execFile);

/** Debian's PostgreSQL binaries, whichever major is installed. */
function binaries(): string | null {
  const root = "/usr/lib/postgresql";
  if (!fs.existsSync(root)) return null;
  const major = fs.readdirSync(root).sort().at(-1);
  return major ? path.join(root, major, "bin") : null;
}

export const canStartPrivatePostgres = binaries() !== null;

export interface PrivatePostgres {
  url: string;
  port: number;
  /** Starts it again after stop(); waits until it accepts connections. */
  start(): Promise<void>;
  /** A fast shutdown: open connections are ended by the server. */
  stop(): Promise<void>;
  /**
   * A crash: SIGKILL to the postmaster and every process it started (as the OOM killer or a lost
   * machine would leave it), resolved once all are gone; `start` then runs crash recovery.
   */
  kill(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * A PostgreSQL server of the test's own, in a temporary directory on a free port, which the test may
 * stop and restart without touching the machine's shared server. initdb refuses to run as root,
 * so as root it runs as the `postgres` user.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binaries();
  if (!bin) throw new Error("PostgreSQL's server binaries are not installed (apt-get install -y postgresql)");
  const asRoot = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-pg-"));
  if (asRoot) fs.chmodSync(dir, 0o777);
  const data = path.join(dir, "data");
  const port = await freePort();
  const as = async (command: string, args: string[]) => {
    const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", path.join(bin, command), ...args]] : [path.join(bin, command), args];
    return run(file, argv, { timeout: 60_000 });
  };
  await as("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const start = async () => {
    await as("pg_ctl", ["-D", data, "-o", options, "-l", path.join(dir, "server.log"), "-w", "-t", "60", "start"]);
  };
  const stop = async () => {
    await as("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"]);
  };
  const kill = async () => {
    const postmaster = Number(fs.readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    // Its children first, while they are still its children (once it dies they belong to init).
    const { stdout } = await run("ps", ["-o", "pid=", "--ppid", String(postmaster)]).catch(() => ({ stdout: "" }));
    const pids = [postmaster, ...stdout.split(/\s+/).filter(Boolean).map(Number)];
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 30_000;
    while (pids.some(alive)) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL processes ${pids.filter(alive).join(", ")} outlived SIGKILL`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop,
    kill,
    async dispose() {
      await stop().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
