import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase, type DatabaseHandle } from "../../db/client.server";
import { freshPostgresUrl } from "../support/database";

/** Resolves to "timed out" instead of hanging the suite when `work` never settles. */
const within = <T>(ms: number, work: Promise<T>) =>
  Promise.race([work, new Promise<"timed out">((resolve) => setTimeout(() => resolve("timed out"), ms).unref())]);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(!process.env.DATABASE_URL)("Postgres migrations", () => {
  async function open(url: string, max: number): Promise<DatabaseHandle> {
    const handle = await openDatabase({ kind: "postgres", url, max });
    cleanups.push(() => handle.close());
    return handle;
  }

  // Bug fixed in db/client.server.ts: the advisory lock was taken in a transaction on the pool,
  // and the migrator then waited for a second pool connection: with max = 1 it hung for ever.
  it("migrates with a pool of a single connection", async () => {
    const database = (await freshPostgresUrl())!;
    cleanups.push(() => database.drop());
    const handle = await open(database.url, 1);
    expect(await within(20_000, handle.migrate().then(() => "migrated"))).toBe("migrated");
    const result = await handle.db.execute(sql`select count(*)::int as n from api_keys`);
    expect(Array.from(result as unknown as { n: number }[])[0]).toEqual({ n: 0 });
  });

  it("lets several instances migrate at once, one after the other, and again as a no-op", async () => {
    const database = (await freshPostgresUrl())!;
    cleanups.push(() => database.drop());
    const handles = await Promise.all([open(database.url, 1), open(database.url, 2), open(database.url, 5)]);
    expect(await within(30_000, Promise.all(handles.map((handle) => handle.migrate())).then(() => "migrated"))).toBe("migrated");
    expect(await within(10_000, handles[0]!.migrate().then(() => "migrated"))).toBe("migrated");
    const result = await handles[1]!.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
    expect(Array.from(result as unknown as { n: number }[])[0]!.n).toBeGreaterThan(0);
  });
});
