import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isCI } from "./ci";

describe("CI, as the skip guards read it", () => {
  it.each([
    ["true", true],
    ["1", true],
    ["yes", true],
    [" TRUE ", true],
    ["false", false],
    ["FALSE", false],
    ["0", false],
    ["", false],
    [" ", false],
    [undefined, false],
  ])("CI=%j is CI: %s", (value, expected) => {
    expect(isCI(value)).toBe(expected);
  });

  it("is read only through isCI: no test compares process.env.CI itself", () => {
    const files = ["tests", path.join("sdk", "test")]
      .flatMap((dir) => fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).map((file) => path.join(dir, file)))
      .filter((file) => /\.tsx?$/.test(file) && file !== path.join("tests", "support", "ci.ts") && file !== path.join("tests", "support", "ci.test.ts"));
    const direct = files.filter((file) => /process\.env\.CI\b|process\.env\[["']CI["']\]/.test(fs.readFileSync(file, "utf8")));
    expect(direct, "use inCI from tests/support/ci.ts").toEqual([]);
  });
});
