import crypto from "node:crypto";
/**
 * What a benchmark reads from its environment, said out loud: a figure means little without the
 * backend it was measured on, and a server process must not pick up a DATABASE_URL or REDIS_URL
 * the benchmark never meant to hand it.
 */

/** The variables that choose a server's backend; server processes get them only explicitly. */
export const BACKEND_VARIABLES = ["DATABASE_URL", "REDIS_URL"] as const;

/** A URL for a person to read: its password masked. */
export function maskUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = "*****";
    return url.toString();
  } catch {
    return value;
  }
}

/** The backend a server or the services run on: PGlite in a directory, or a Postgres URL; Redis or none. */
export function describeBackend({ databaseUrl, dataDir, redisUrl }: { databaseUrl?: string; dataDir?: string; redisUrl?: string }): Record<string, string> {
  return {
    database: databaseUrl ? `PostgreSQL ${maskUrl(databaseUrl)}` : `embedded PGlite${dataDir ? ` in ${dataDir}` : ""}`,
    REDIS_URL: redisUrl ? maskUrl(redisUrl) : "none (limits per process)",
  };
}

/**
 * Prints on stderr, under `title`, every variable given: its value (URLs masked), or that it is
 * unset and what the script does then.
 */
export function printEnvironment(title: string, variables: Record<string, string | undefined>): void {
  const width = Math.max(...Object.keys(variables).map((name) => name.length));
  const lines = Object.entries(variables).map(([name, value]) => `  ${name.padEnd(width)}  ${value === undefined ? "unset" : maskUrl(value)}`);
  process.stderr.write(`${title}\n${lines.join("\n")}\n`);
}

/** This process's environment without the backend variables, for a child that must get them explicitly. */
export function withoutBackend(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const rest = { ...env };
  for (const name of BACKEND_VARIABLES) delete rest[name];
  return rest;
}

/**
 * A database of the benchmark's own on that PostgreSQL server (`<prefix>_<random>`), so nothing
 * shared is touched; `drop()` removes it, connections and all.
 */
export async function createPostgresDatabase(serverUrl: string, prefix = "keyward_bench"): Promise<{ url: string; drop(): Promise<void> }> {
  const { default: postgres } = await import("postgres");
  const name = `${prefix}_${crypto.randomBytes(4).toString("hex")}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}
