import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { openDatabase } from "../../db/client.server";
import { createKeyward, type Keyward } from "../../app/services/keyward.server";
import { startServerProcess, type ServerProcess } from "../../scripts/lib/server-process";
import { freshPostgresUrl } from "./database";
import { TEST_HASHING, testConfig } from "./keyward";
import { serverSecrets } from "./secrets";

/**
 * Two production app processes on one fresh Postgres database (and REDIS_URL's Redis when set),
 * plus the services in this process on the same database, set up before the suite's tests and torn
 * down after. Call it inside a `describe.skipIf(!process.env.DATABASE_URL)`: PGlite admits one process.
 */
export function twoInstancesOnPostgres(name: string): { readonly keyward: Keyward; readonly instances: readonly ServerProcess[] } {
  const env = serverSecrets();
  let database: { url: string; drop(): Promise<void> } | undefined;
  let keyward: Keyward | undefined;
  let closeDatabase: (() => Promise<void>) | undefined;
  const instances: ServerProcess[] = [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `keyward-${name}-`));

  beforeAll(async () => {
    database = (await freshPostgresUrl())!;
    const handle = await openDatabase({ kind: "postgres", url: database.url, max: 2 });
    closeDatabase = () => handle.close();
    keyward = await createKeyward({ config: testConfig({ ...env, DATABASE_URL: database.url }), database: handle, hashing: TEST_HASHING });
    const shared = { ...env, DATABASE_URL: database.url, KEYWARD_DATA_DIR: dataDir, ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}) };
    instances.push(...(await Promise.all([0, 1].map(() => startServerProcess({ ...shared, NODE_ENV: "production", KEYWARD_LOG_LEVEL: "warn" })))));
  }, 180_000);

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await keyward?.close();
    await closeDatabase?.();
    await database?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  return {
    get keyward() {
      if (!keyward) throw new Error("twoInstancesOnPostgres: used before its beforeAll ran");
      return keyward;
    },
    instances,
  };
}
