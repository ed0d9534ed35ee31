/**
 * The run's secret registry: every secret a suite or helper makes (server secrets, webhook secrets)
 * is added here, so the run-wide log-leak scan (tests/support/log-capture.ts) looks for exactly the
 * secrets this run used, not only the patterns it knows in advance (keys, session ids) and the
 * password literals (TEST_PASSWORDS). Workers and the processes they spawn append to one file named
 * by KEYWARD_SECRETS_FILE, which the scan reads when the run ends.
 */
import crypto from "node:crypto";
import fs from "node:fs";

/** Shorter values would match ordinary log text; every generated secret is far longer. */
export const MIN_REGISTERED_SECRET = 12;

/** Adds secrets to the run's registry (a no-op outside a vitest run, e.g. in a benchmark). */
export function registerSecrets(...values: (string | undefined)[]): void {
  const file = process.env.KEYWARD_SECRETS_FILE;
  const kept = values.filter((value): value is string => value !== undefined && value.length >= MIN_REGISTERED_SECRET);
  if (!file || kept.length === 0) return;
  fs.appendFileSync(file, kept.map((value) => `${JSON.stringify(value)}\n`).join(""));
}

/** Every secret registered so far in this run. */
export function registeredSecrets(file = process.env.KEYWARD_SECRETS_FILE): string[] {
  if (!file || !fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
  return [...new Set(lines.map((line) => JSON.parse(line) as string))];
}

/** A fresh KEYWARD_SECRET and KEYWARD_ENCRYPTION_KEY for a server or CLI environment, registered. */
export function serverSecrets(): { KEYWARD_SECRET: string; KEYWARD_ENCRYPTION_KEY: string } {
  const secrets = { KEYWARD_SECRET: crypto.randomBytes(32).toString("base64"), KEYWARD_ENCRYPTION_KEY: crypto.randomBytes(32).toString("base64") };
  registerSecrets(secrets.KEYWARD_SECRET, secrets.KEYWARD_ENCRYPTION_KEY);
  return secrets;
}
