import crypto from "node:crypto";
import os from "node:os";
import path from "node:path";
import { loadConfig, type Config } from "../../app/config.server";
import { systemActor, sessionActor, type Actor } from "../../app/services/actor.server";
import type { Clock } from "../../app/services/clock.server";
import { createKeyward, type Keyward } from "../../app/services/keyward.server";
import type { Role } from "../../db/schema";
import { freshDatabase } from "./database";
import { registerSecrets } from "./secrets";

/** Cheap argon2id parameters for tests: still argon2id, just less memory and time. */
export const TEST_HASHING = { memoryCost: 1024, timeCost: 1 };

export const TEST_PASSWORD = "correct horse battery staple";

export function testConfig(env: Record<string, string | undefined> = {}): Config {
  const config = loadConfig({
    NODE_ENV: "test",
    KEYWARD_DATA_DIR: path.join(os.tmpdir(), "keyward-test-unused"),
    KEYWARD_SECRET: crypto.randomBytes(32).toString("base64"),
    KEYWARD_ENCRYPTION_KEY: crypto.randomBytes(32).toString("base64"),
    ...env,
  });
  // Whatever the secrets came from (generated, given in env, previous versions), the log scan learns them.
  const { current, previous } = config.digestSecrets;
  registerSecrets(...[current, ...previous].map(({ secret }) => secret.toString("base64")), config.encryptionKey.toString("base64"), config.alertWebhook?.secret);
  return config;
}

export interface TestKeyward extends Keyward {
  /** Closes the services and drops the test database. */
  dispose(): Promise<void>;
}

/**
 * The whole service layer on a fresh database of its own. With REDIS_URL set (the CI's second
 * run), rate limits go through that Redis, as they would in a deployment.
 */
export async function testKeyward(options: { clock?: Clock; env?: Record<string, string | undefined> } = {}): Promise<TestKeyward> {
  const database = await freshDatabase();
  const env = { REDIS_URL: process.env.REDIS_URL, ...options.env };
  const keyward = await createKeyward({ config: testConfig(env), database, clock: options.clock, hashing: TEST_HASHING });
  return {
    ...keyward,
    async dispose() {
      await keyward.close();
      await database.close();
    },
  };
}

export const system = systemActor("test");

let counter = 0;

/** Creates a user and returns it with the actor it acts as through a session. */
export async function createUser(keyward: Keyward, role: Role = "member", email?: string): Promise<{ id: string; email: string; role: Role; actor: Actor }> {
  const user = await keyward.users.create(system, { email: email ?? `${role}${++counter}-${crypto.randomBytes(3).toString("hex")}@example.test`, password: TEST_PASSWORD, role });
  return { ...user, actor: sessionActor(user) };
}

/**
 * Every password the suites and scripts set or type — the helpers', the seed's, other fixed ones and
 * deliberate wrong guesses — which the run-wide log-leak scan looks for. A password literal of
 * MIN_SCANNED_PASSWORD characters or more that is missing here, or an entry no longer used, fails
 * tests/security/test-passwords.test.ts, so the list cannot fall behind the tests.
 */
export const TEST_PASSWORDS: readonly string[] = [
  TEST_PASSWORD,
  // scripts/seed.ts, run by the CLI tests and the page benchmark.
  "admin-dev-password",
  "member-dev-password",
  "a long admin password",
  "a long member password",
  "a long enough password",
  "long enough password",
  "another long password",
  "another long passphrase",
  "a much longer new passphrase",
  "a brand new passphrase",
  "a new long password",
  "the member's own passphrase",
  "load-test-password",
  "Winter2026!",
  "wrong password",
  "not my password",
  "not the password at all",
  "correct%20horse",
  // tests/api/users.*.test.ts (REST user management).
  "a long first password",
  "a password I chose myself",
  "a long steady password",
  "taken over by a leaked key",
];

/** Shorter literals ("x", "short") are refusals of too-short input, and too common in logs to scan for. */
export const MIN_SCANNED_PASSWORD = 8;
