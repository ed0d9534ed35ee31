import { openDatabase, type DatabaseHandle } from "../../db/client.server";
import type { Config } from "../config.server";
import { AuthService } from "./auth.server";
import { systemClock, type Clock } from "./clock.server";
import { EventBus } from "./events.server";
import { KeyService } from "./keys.server";
import type { PasswordHashing } from "./passwords.server";
import { UserService } from "./users.server";

/** Everything a request needs, built once per process and handed to routes through Remix's load context. */
export interface Keyward {
  config: Config;
  database: DatabaseHandle;
  clock: Clock;
  events: EventBus;
  keys: KeyService;
  users: UserService;
  auth: AuthService;
  close(): Promise<void>;
}

export interface KeywardOptions {
  config: Config;
  /** An already open database (tests); otherwise the one the config names is opened. */
  database?: DatabaseHandle;
  clock?: Clock;
  hashing?: PasswordHashing;
}

/** Opens the database, applies migrations, starts listening for events, and wires the services. */
export async function createKeyward({ config, database, clock = systemClock, hashing }: KeywardOptions): Promise<Keyward> {
  const handle = database ?? (await openDatabase(config.database));
  try {
    await handle.migrate();
    const events = new EventBus(handle);
    await events.start();
    const db = handle.db;
    return {
      config,
      database: handle,
      clock,
      events,
      keys: new KeyService({ db, clock, secrets: config.digestSecrets, encryptionKey: config.encryptionKey, maxTtlDays: config.maxKeyTtlDays, events }),
      users: new UserService({ db, clock, hashing, events }),
      auth: new AuthService({ db, clock, production: config.production, hashing }),
      async close() {
        await events.stop();
        if (!database) await handle.close();
      },
    };
  } catch (error) {
    if (!database) await handle.close();
    throw error;
  }
}
