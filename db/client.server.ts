import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { Sql } from "postgres";
import * as schema from "./schema";

/** One database type for both drivers (postgres.js and PGlite). */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  kind: "postgres" | "pglite";
  db: Database;
  /**
   * For hot-path writes whose last moments may be lost in a database crash, never half-applied:
   * credit charges. On PostgreSQL a small pool of its own with `synchronous_commit = off` (a commit
   * returns before its WAL record is flushed, so a charge costs a fraction of a durable commit while
   * row locks keep it exact; docs/decisions/0019-credits.md). On PGlite the same database as `db`.
   */
  hotPathDb: Database;
  /** Applies the committed migrations in db/migrations. */
  migrate(): Promise<void>;
  /** Subscribes to a NOTIFY channel; resolves to an unsubscribe function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  /** Cheap round trip, for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type DatabaseLocation =
  /** `statementTimeoutMs` bounds every statement, so a stalled database cannot hold requests forever. */
  | { kind: "postgres"; url: string; max?: number; statementTimeoutMs?: number }
  | { kind: "pglite"; dataDir: string }
  /** In memory; `snapshot` starts from a dumped data directory (tests use a migrated one). */
  | { kind: "pglite"; memory: true; snapshot?: Blob };

const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "migrations");

/** Where the committed migrations live; overridable for bundled builds that moved the file. */
export function migrationsPath(): string {
  return process.env.KEYWARD_MIGRATIONS_DIR ?? (fs.existsSync(migrationsFolder) ? migrationsFolder : path.resolve("db/migrations"));
}

export async function openDatabase(location: DatabaseLocation): Promise<DatabaseHandle> {
  return location.kind === "postgres" ? openPostgres(location.url, location.max, location.statementTimeoutMs) : openPglite(location);
}

async function openPostgres(url: string, max = 10, statementTimeoutMs = 10_000): Promise<DatabaseHandle> {
  const { default: postgres } = await import("postgres");
  const { drizzle } = await import("drizzle-orm/postgres-js");
  const { migrate } = await import("drizzle-orm/postgres-js/migrator");
  // A connection attempt gives up after 5 s (the default is 30), so requests fail fast while Postgres is down;
  // reconnects wait at most 1 s (the default backoff grows to 20 s: service came back 5–19 s after Postgres did).
  const sql = postgres(url, {
    max,
    connect_timeout: 5,
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    onnotice: () => {},
    connection: { application_name: "keyward", statement_timeout: statementTimeoutMs },
  });
  const db = drizzle(sql, { schema }) as unknown as Database;
  const hotPathSql = postgres(url, {
    max: Math.max(2, Math.ceil(max / 3)),
    connect_timeout: 5,
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    onnotice: () => {},
    connection: { application_name: "keyward-hot-path", statement_timeout: statementTimeoutMs, synchronous_commit: "off" },
  });
  return {
    kind: "postgres",
    db,
    hotPathDb: drizzle(hotPathSql, { schema }) as unknown as Database,
    migrate: () =>
      withMigrationLock(async () => {
        // A connection of its own without the statement timeout: a migration over a big table (an index on a million keys) takes longer.
        const migrator = postgres(url, { max: 1, onnotice: () => {}, connection: { application_name: "keyward-migrate" } });
        try {
          await migrate(drizzle(migrator, { schema }), { migrationsFolder: migrationsPath() });
        } finally {
          await migrator.end({ timeout: 5 });
        }
      }, postgres(url, { max: 1, onnotice: () => {} })),
    async listen(channel, onPayload) {
      const sub = await sql.listen(channel, onPayload);
      return () => sub.unlisten();
    },
    async notify(channel, payload) {
      await sql.notify(channel, payload);
    },
    async ping() {
      await sql`select 1`;
    },
    close: async () => {
      await Promise.all([sql.end({ timeout: 5 }), hotPathSql.end({ timeout: 5 })]);
    },
  };
}

/**
 * Serialises concurrent migrators (several app instances starting together) with an advisory lock,
 * held on a connection of its own while the migrator runs on another.
 */
async function withMigrationLock(run: () => Promise<void>, lock: Sql): Promise<void> {
  try {
    await lock.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(7355608)`;
      await run();
    });
  } finally {
    await lock.end({ timeout: 5 });
  }
}

/** The contrib extensions the migrations create (pg_trgm for name search); PGlite must load them before CREATE EXTENSION. */
export async function pgliteExtensions() {
  const { pg_trgm } = await import("@electric-sql/pglite/contrib/pg_trgm");
  return { pg_trgm };
}

async function openPglite(location: { dataDir: string } | { memory: true; snapshot?: Blob }): Promise<DatabaseHandle> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  const release = "dataDir" in location ? lockDataDir(location.dataDir) : () => {};
  let client: InstanceType<typeof PGlite>;
  try {
    const extensions = await pgliteExtensions();
    client = new PGlite("dataDir" in location ? { dataDir: location.dataDir, extensions } : { loadDataDir: location.snapshot, extensions });
    await client.waitReady;
  } catch (error) {
    release();
    throw error;
  }
  const db = drizzle(client, { schema }) as unknown as Database;
  return {
    kind: "pglite",
    db,
    hotPathDb: db,
    migrate: () => migrate(drizzle(client, { schema }), { migrationsFolder: migrationsPath() }),
    async listen(channel, onPayload) {
      return client.listen(channel, onPayload);
    },
    async notify(channel, payload) {
      await client.query("select pg_notify($1, $2)", [channel, payload]);
    },
    async ping() {
      await client.query("select 1");
    },
    async close() {
      try {
        await client.close();
      } finally {
        release();
      }
    },
  };
}

export class DataDirectoryLockedError extends Error {
  readonly code = "data_directory_locked";
  constructor(dir: string, pid: number) {
    super(
      `The embedded database in ${dir} is already open in process ${pid}. ` +
        `PGlite allows one process per data directory: stop that process first, ` +
        `or set DATABASE_URL to use PostgreSQL, which any number of processes can share.`,
    );
  }
}

/**
 * PGlite has no lock of its own, and two processes on one directory lose data,
 * so take an exclusive lock file and refuse a second process with a clear message.
 */
export function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockFile = path.join(path.dirname(path.resolve(dataDir)), `${path.basename(dataDir)}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: "wx" });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        fs.rmSync(lockFile, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(fs.readFileSync(lockFile, "utf8").trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new DataDirectoryLockedError(dataDir, holder);
      }
      // The holder died without releasing (SIGKILL): the lock is stale.
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`Could not lock ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
