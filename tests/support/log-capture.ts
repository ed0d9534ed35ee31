/**
 * Vitest globalSetup: every log line of the run (workers and the `node build/server.js` children
 * they spawn inherit the environment) goes to one fresh file, and the run fails if that file holds
 * a credential — a Keyward key, a password the tests use, or a session cookie or id. What tests print
 * joins the same file through onConsoleLog in vitest.config.ts.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { KEY_PATTERN } from "../../app/lib/key-format";

export interface Leak {
  line: number;
  what: string;
  /** The line with every secret found masked. */
  masked: string;
}

/** What must never be logged: any Keyward key, the tests' passwords (as typed, URL- or form-encoded), session cookies and ids. */
function secretPatterns(passwords: readonly string[]): { what: string; pattern: RegExp }[] {
  const passwordForms = passwords.flatMap((password) => [password, encodeURIComponent(password), new URLSearchParams({ p: password }).toString().slice(2)]);
  return [
    { what: "a Keyward key", pattern: new RegExp(KEY_PATTERN.source, "g") },
    { what: "a test password", pattern: new RegExp([...new Set(passwordForms)].sort((a, b) => b.length - a.length).map(escape).join("|"), "g") },
    { what: "a session cookie", pattern: /(?:__Host-)?keyward_session=(?!\[REDACTED\])[^;\s",\\]+/g },
    { what: "a session id", pattern: /(?<![0-9A-Za-z])[a-z2-7]{40}(?![0-9A-Za-z])/g },
  ];
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Every line of `text` that holds a secret, with what it holds; the secrets themselves masked. */
export function findLeaks(text: string, passwords: readonly string[]): Leak[] {
  const secrets = secretPatterns(passwords);
  const leaks: Leak[] = [];
  text.split("\n").forEach((content, index) => {
    const found = secrets.filter(({ pattern }) => content.match(pattern) !== null);
    if (found.length === 0) return;
    let masked = content;
    for (const { what, pattern } of found) masked = masked.replace(pattern, `«${what}»`);
    leaks.push({ line: index + 1, what: found.map(({ what }) => what).join(", "), masked: masked.length > 400 ? `${masked.slice(0, 400)}…` : masked });
  });
  return leaks;
}

/** The leaks in a run's log: what the teardown reports. */
export async function runLeaks(text: string): Promise<Leak[]> {
  // Imported only now: the service layer it pulls in is not needed to start the run.
  const { TEST_PASSWORDS } = await import("./keyward");
  return findLeaks(text, TEST_PASSWORDS);
}

export default function setup(): () => Promise<void> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "keyward-test-log-")), "run.ndjson");
  fs.writeFileSync(file, "");
  process.env.KEYWARD_LOG_FILE = file;
  // Tests read the file right after a request: every line must be there by then.
  process.env.KEYWARD_LOG_SYNC = "1";
  // Debug still logs every request (and the client errors at debug), so all of it is scanned.
  process.env.LOG_LEVEL = "debug";

  return async () => {
    const leaks = await runLeaks(fs.readFileSync(file, "utf8"));
    if (leaks.length === 0) {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
      return;
    }
    const shown = leaks.slice(0, 20).map((leak) => `  line ${leak.line}: ${leak.what}\n    ${leak.masked}`);
    const message = [
      `Log leak: ${leaks.length} line(s) of ${file} hold a credential:`,
      ...shown,
      ...(leaks.length > shown.length ? [`  … and ${leaks.length - shown.length} more`] : []),
    ].join("\n");
    // Vitest 4.1 prints a teardown error ("error during close") but still exits 0: set the code ourselves.
    process.exitCode = 1;
    throw new Error(message);
  };
}
