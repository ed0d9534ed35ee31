import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MIN_SCANNED_PASSWORD, TEST_PASSWORDS } from "../support/keyward";
import { runLeaks } from "../support/log-capture";

/**
 * The run-wide log-leak scan finds only the passwords it knows: this keeps its list equal to the
 * password literals the tests and scripts actually use, wherever they put one.
 */
const PASSWORD_SITES: RegExp[] = [
  // password: "…", NEW_PASSWORD = "…", currentPassword: "…"
  /\b\w*pass(?:word|phrase)\w*\s*[:=]\s*"([^"]*)"/gi,
  // A field fuzzed over several values: password: field(["…", …])
  /\b\w*password\w*\s*:\s*field\(\[([^\]]*)\]/gi,
  // The CLI, by option or on stdin.
  /"--password",\s*"([^"]*)"/g,
  /--password-stdin"\][^;]*?input:\s*"([^"\\]*)/g,
  // Form bodies and query strings.
  /[?&"]password=([^&"'\s#]*)/g,
  // The sign-in helpers' last argument, and password fields filled in the browser.
  /\b(?:login|postLogin|attempt|signIn|canSignIn)\([^()]*?"([^"]*)"\)/g,
  /getByLabel\([^)]*[Pp]assword[^)]*\)\.fill\("([^"]*)"\)/g,
];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return /\.tsx?$/.test(entry.name) ? [file] : [];
  });
}

/** Every password literal in the tests and scripts, with the files it is in. */
function passwordLiterals(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of [...sourceFiles("tests"), ...sourceFiles("scripts")]) {
    const text = fs.readFileSync(file, "utf8");
    for (const site of PASSWORD_SITES) {
      for (const match of text.matchAll(site)) {
        const values = site.source.includes("field") ? [...match[1]!.matchAll(/"([^"]*)"/g)].map((inner) => inner[1]!) : [match[1]!];
        // Templates are built at run time; option names and masks are not passwords.
        for (const value of values.filter((v) => v.length >= MIN_SCANNED_PASSWORD && !v.includes("${") && !v.startsWith("--") && !/^(\[REDACTED\]|\*+)$/.test(v))) {
          found.set(value, [...new Set([...(found.get(value) ?? []), file])]);
        }
      }
    }
  }
  return found;
}

describe("the passwords the log-leak scan looks for", () => {
  it("are exactly the password literals the tests and scripts use", () => {
    const literals = passwordLiterals();
    // The helpers' own password is found where it is defined, so the search itself works.
    expect(literals.get(TEST_PASSWORDS[0]!)).toContain(path.join("tests", "support", "keyward.ts"));
    const unlisted = [...literals].filter(([value]) => !TEST_PASSWORDS.includes(value)).map(([value, files]) => `${JSON.stringify(value)} in ${files.join(", ")}`);
    expect(unlisted, "add these to TEST_PASSWORDS in tests/support/keyward.ts").toEqual([]);
    const unused = TEST_PASSWORDS.filter((password) => !literals.has(password));
    expect(unused, "no test or script uses these any more: remove them from TEST_PASSWORDS").toEqual([]);
  });

  it("are each found by the run's scan as typed, URL-encoded and form-encoded", async () => {
    for (const password of TEST_PASSWORDS) {
      const forms = [password, encodeURIComponent(password), new URLSearchParams({ p: password }).toString().slice(2)];
      const lines = forms.map((form) => JSON.stringify({ msg: "request", body: `email=a%40example.test&password=${form}` }));
      const leaks = await runLeaks(lines.join("\n"));
      expect(leaks.map((leak) => leak.what), password).toEqual(forms.map(() => "a test password"));
      for (const leak of leaks) expect(leak.masked).not.toContain(password);
    }
  });
});
