import crypto from "node:crypto";
import postgres from "postgres";
import { openDatabase, type DatabaseHandle } from "../../db/client.server";

/**
 * A database of this test file's own: in-memory PGlite by default; with DATABASE_URL set, a newly
 * created Postgres database (dropped on close), so suites never share rows or depend on leftovers.
 */
export async function freshDatabase(): Promise<DatabaseHandle> {
  const url = process.env.DATABASE_URL;
  if (!url) return openDatabase({ kind: "pglite", memory: true });
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
