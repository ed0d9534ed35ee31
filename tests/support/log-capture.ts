/**
 * Vitest globalSetup: every log line of the run (workers and the `node build/server.js` children
 * they spawn inherit the environment) goes to one fresh file, and the run fails if that file holds
 * a credential — a Keyward key, a password the tests use, a secret the run registered
 * (tests/support/secrets.ts), or a session cookie or id. What tests print joins the same file
 * through onConsoleLog in vitest.config.ts.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { KEY_PATTERN } from "../../app/lib/key-format";
import { registeredSecrets } from "./secrets";

export interface Leak {
  line: number;
  what: string;
  /** The line with every secret found masked. */
  masked: string;
}

/** One kind of secret: whether a line holds it, and the line with it masked. */
interface Detector {
  what: string;
  holds(line: string): boolean;
  mask(line: string): string;
}

/**
 * What must never be logged: any Keyward key, the tests' passwords and the run's registered secrets
 * (as typed, URL- or form-encoded), session cookies and ids.
 */
function detectors(passwords: readonly string[], registered: readonly string[]): Detector[] {
  return [
    patternDetector("a Keyward key", new RegExp(KEY_PATTERN.source, "g")),
    // A handful of literals: one alternation is quick enough.
    ...(passwords.length > 0 ? [patternDetector("a test password", new RegExp(formsOf(passwords).map(escape).join("|"), "g"))] : []),
    ...(registered.length > 0 ? [literalDetector("a registered secret", formsOf(registered))] : []),
    patternDetector("a session cookie", /(?:__Host-)?keyward_session=(?!\[REDACTED\])[^;\s",\\]+/g),
    patternDetector("a session id", /(?<![0-9A-Za-z])[a-z2-7]{40}(?![0-9A-Za-z])/g),
  ];
}

function patternDetector(what: string, pattern: RegExp): Detector {
  return { what, holds: (line) => line.match(pattern) !== null, mask: (line) => line.replace(pattern, `«${what}»`) };
}

/** Each literal as typed, URL-encoded and form-encoded, longest first (so a longer form is masked whole). */
function formsOf(literals: readonly string[]): string[] {
  const forms = literals.flatMap((literal) => [literal, encodeURIComponent(literal), new URLSearchParams({ p: literal }).toString().slice(2)]);
  return [...new Set(forms)].sort((a, b) => b.length - a.length);
}

/**
 * Thousands of literals (a run registers a few secrets per test): one alternation of them takes a
 * minute on a 20 MB log, so only the runs of characters the literals are made of are searched, each
 * position by the literals' common prefix length in a map.
 */
function literalDetector(what: string, forms: readonly string[]): Detector {
  const prefixLength = Math.min(...forms.map((form) => form.length));
  const byPrefix = new Map<string, string[]>();
  for (const form of forms) byPrefix.set(form.slice(0, prefixLength), [...(byPrefix.get(form.slice(0, prefixLength)) ?? []), form]);
  const alphabet = [...new Set(forms.join(""))].map((char) => char.replace(/[\]\\^-]/g, "\\$&")).join("");
  const runs = new RegExp(`[${alphabet}]{${prefixLength},}`, "g");
  const found = (line: string): string[] => {
    const hits = new Set<string>();
    for (const [run] of line.matchAll(runs)) {
      for (let at = 0; at + prefixLength <= run.length; at++) {
        for (const form of byPrefix.get(run.slice(at, at + prefixLength)) ?? []) if (run.startsWith(form, at)) hits.add(form);
      }
    }
    // Longest first, so a longer form is masked whole.
    return [...hits].sort((a, b) => b.length - a.length);
  };
  return {
    what,
    holds: (line) => found(line).length > 0,
    mask: (line) => found(line).reduce((masked, form) => masked.replaceAll(form, `«${what}»`), line),
  };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Every line of `text` that holds a secret, with what it holds; the secrets themselves masked. */
export function findLeaks(text: string, passwords: readonly string[], registered: readonly string[] = []): Leak[] {
  const secrets = detectors(passwords, registered);
  const leaks: Leak[] = [];
  text.split("\n").forEach((content, index) => {
    const found = secrets.filter((secret) => secret.holds(content));
    if (found.length === 0) return;
    const masked = found.reduce((line, secret) => secret.mask(line), content);
    leaks.push({ line: index + 1, what: found.map(({ what }) => what).join(", "), masked: masked.length > 400 ? `${masked.slice(0, 400)}…` : masked });
  });
  return leaks;
}

/** The leaks in a run's log: what the teardown reports. */
export async function runLeaks(text: string): Promise<Leak[]> {
  // Imported only now: the service layer it pulls in is not needed to start the run.
  const { TEST_PASSWORDS } = await import("./keyward");
  return findLeaks(text, TEST_PASSWORDS, registeredSecrets());
}

export default function setup(): () => Promise<void> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "keyward-test-log-")), "run.ndjson");
  fs.writeFileSync(file, "");
  process.env.KEYWARD_LOG_FILE = file;
  // Tests read the file right after a request: every line must be there by then.
  process.env.KEYWARD_LOG_SYNC = "1";
  // The secrets the suites make, registered as they are made (tests/support/secrets.ts).
  process.env.KEYWARD_SECRETS_FILE = path.join(path.dirname(file), "secrets.ndjson");
  // Debug still logs every request (and the client errors at debug), so all of it is scanned.
  process.env.KEYWARD_LOG_LEVEL = "debug";

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
