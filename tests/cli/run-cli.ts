import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../app/config.server";
import { createKeyward, type Keyward } from "../../app/services/keyward.server";
import { freshPostgresUrl } from "../support/database";
import { serverSecrets } from "../support/secrets";

const KILL_AFTER_MS = 90_000;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment a CLI process runs in: a database of this test file's own and fixed secrets. */
export interface CliEnvironment {
  env: Record<string, string>;
  /** Runs `scripts/<script>.ts` as a child process, the way `npm run` does (through tsx). */
  run(script: "keys" | "users" | "apis" | "identities" | "seed" | "migrate", args: string[], options?: { input?: string; env?: Record<string, string | undefined> }): Promise<CliResult>;
  /** Runs `keyward …` the way a user does: `node bin/keyward.js` (the package's "bin" entry). */
  keyward(args: string[], options?: { input?: string; env?: Record<string, string | undefined> }): Promise<CliResult>;
  /** The services on the same database, in this process; close it before the next `run` (PGlite allows one process). */
  open(): Promise<Keyward>;
  dispose(): Promise<void>;
}

/**
 * With DATABASE_URL set: a newly created Postgres database (dropped by dispose).
 * Otherwise: an embedded PGlite database in a new temporary data directory.
 */
export async function cliEnvironment(): Promise<CliEnvironment> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-cli-"));
  const postgres = await freshPostgresUrl();
  const env: Record<string, string> = {
    NODE_ENV: "test",
    KEYWARD_DATA_DIR: dataDir,
    ...serverSecrets(),
    ...(postgres ? { DATABASE_URL: postgres.url } : {}),
  };
  return {
    env,
    run: (script, args, options = {}) => runScript(script, args, { ...env, ...options.env }, options.input),
    keyward: (args, options = {}) => runKeyward(args, { ...env, ...options.env }, options.input),
    open: () => createKeyward({ config: loadConfig(env as NodeJS.ProcessEnv) }),
    async dispose() {
      await postgres?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `node bin/keyward.js …` in the repository, with only the environment given (see runScript). */
export function runKeyward(args: string[], env: Record<string, string | undefined>, input?: string): Promise<CliResult> {
  return runNode([path.join("bin", "keyward.js"), ...args], "keyward", env, input);
}

function runScript(script: string, args: string[], env: Record<string, string | undefined>, input?: string): Promise<CliResult> {
  return runNode(["--import", "tsx", path.join("scripts", `${script}.ts`), ...args], script, env, input);
}

function runNode(nodeArgs: string[], script: string, env: Record<string, string | undefined>, input?: string): Promise<CliResult> {
  // Only what the test chose: no DATABASE_URL or KEYWARD_* leaking in from the outer environment.
  // The run-wide log capture (KEYWARD_LOG_FILE) is kept, so CLI logs are scanned for leaks too and
  // never mix with what a command prints on stdout.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name !== "DATABASE_URL" && (!name.startsWith("KEYWARD_") || name === "KEYWARD_LOG_FILE")),
  );
  const child = spawn(process.execPath, nodeArgs, {
    cwd: ROOT,
    env: { ...inherited, ...env } as NodeJS.ProcessEnv,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.end(input ?? "");
  // Generous, because two shared cores can be very busy; a hung process still fails the test.
  const timer = setTimeout(() => {
    stderr += `\n[run-cli: killed ${script} after ${KILL_AFTER_MS / 1000} s]`;
    child.kill("SIGKILL");
  }, KILL_AFTER_MS);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A newly created key, exactly: `kw_` + 61 base62 characters and one newline, nothing else. */
export const KEY_LINE = /^kw_[0-9A-Za-z]{61}\n$/;

/** A newly issued key of the API with this prefix, exactly: 64 characters and one newline. */
export const issuedKeyLine = (prefix: string) => new RegExp(`^${prefix}_[0-9A-Za-z]{${64 - prefix.length - 1}}\n$`);
