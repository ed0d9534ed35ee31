import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import postgres from "postgres";
import { migrationsPath, openDatabase, pgliteExtensions, type DatabaseHandle } from "../../db/client.server";

/**
 * A migrated, empty PGlite data directory dumped once per migration set and reused by every
 * test file: starting PGlite from it is several times faster than initdb + migrations.
 */
async function migratedSnapshot(): Promise<Blob> {
  const folder = migrationsPath();
  const hash = crypto.createHash("sha256");
  for (const file of fs.readdirSync(folder, { recursive: true }).map(String).sort()) {
    const full = path.join(folder, file);
    if (fs.statSync(full).isFile()) hash.update(file).update(fs.readFileSync(full));
  }
  const file = path.resolve(".cache", `pglite-migrated-${hash.digest("hex").slice(0, 16)}.tar`);
  if (!fs.existsSync(file)) {
    const { PGlite } = await import("@electric-sql/pglite");
    const { drizzle } = await import("drizzle-orm/pglite");
    const { migrate } = await import("drizzle-orm/pglite/migrator");
    const client = new PGlite({ extensions: await pgliteExtensions() });
    await migrate(drizzle(client), { migrationsFolder: folder });
    const dump = await client.dumpDataDir("none");
    await client.close();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Write then rename, so a parallel worker never reads half a file.
    const partial = `${file}.${process.pid}.partial`;
    fs.writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    fs.renameSync(partial, file);
  }
  return new Blob([fs.readFileSync(file)]);
}

/**
 * A database of this test file's own: in-memory PGlite by default; with DATABASE_URL set, a newly
 * created Postgres database (dropped on close), so suites never share rows or depend on leftovers.
 */
export async function freshDatabase(): Promise<DatabaseHandle> {
  const url = process.env.DATABASE_URL;
  if (!url) return openDatabase({ kind: "pglite", memory: true, snapshot: await migratedSnapshot() });
  const name = `keyward_test_${process.pid}_${crypto.randomBytes(4).toString("hex")}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const testUrl = new URL(url);
  testUrl.pathname = `/${name}`;
  const handle = await openDatabase({ kind: "postgres", url: testUrl.toString(), max: 5 });
  return {
    ...handle,
    async close() {
      await handle.close();
      const dropper = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/** A database URL of this test's own, for app processes started as children; dropped by `drop()`. */
export async function freshPostgresUrl(): Promise<{ url: string; drop(): Promise<void> } | null> {
  const url = process.env.DATABASE_URL;
  if (!url) return null;
  const name = `keyward_test_${process.pid}_${crypto.randomBytes(4).toString("hex")}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const testUrl = new URL(url);
  testUrl.pathname = `/${name}`;
  return {
    url: testUrl.toString(),
    async drop() {
      const dropper = postgres(url, { max: 1, onnotice: () => {} });
      await dropper.unsafe(`drop database if exists "${name}" with (force)`);
      await dropper.end();
    },
  };
}
