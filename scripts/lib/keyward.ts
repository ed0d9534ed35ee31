import { loadConfig, type Config } from "../../app/config.server";
import { createKeyward, type Keyward } from "../../app/services/keyward.server";

/**
 * Opens the service container from the environment exactly as the app does (same config, same
 * migrations), runs `work`, and closes the database afterwards so the process can exit.
 * On the embedded default this takes the data directory's lock: it fails with a clear message
 * while the app (or another script) has the same directory open.
 */
export async function withKeyward<T>(work: (keyward: Keyward) => Promise<T>, config: Config = loadConfig()): Promise<T> {
  const keyward = await createKeyward({ config });
  try {
    return await work(keyward);
  } finally {
    await keyward.close();
  }
}

/** Which database the config points at, for a person to read; a Postgres password is masked. */
export function describeDatabase(config: Config): string {
  if (config.database.kind === "pglite") return `embedded PGlite database in ${config.database.dataDir}`;
  const url = new URL(config.database.url);
  if (url.password) url.password = "*****";
  return `PostgreSQL database at ${url.toString()}`;
}
