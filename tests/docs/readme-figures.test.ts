import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { readResults } from "../../scripts/lib/bench-results";
import { README, renderReadme } from "../../scripts/bench/readme-figures";

/**
 * The README's benchmark figures are generated from the committed results file every benchmark
 * writes its section of: a figure edited by hand, or a section re-measured without regenerating
 * the README, fails here.
 */
describe("the README's published figures", () => {
  it("match the committed results file of the benchmarks", () => {
    const readme = fs.readFileSync(README, "utf8");
    const results = readResults();
    expect(results.rest?.results.map((result) => result.backend).sort()).toEqual(["pglite", "postgres+redis"]);
    const expected = renderReadme(readme, results);
    expect(expected, "README.md lacks a generated block's markers").not.toBeNull();
    expect(readme, "README.md's figures differ from bench-results/results.json: run `npm run bench:readme`").toBe(expected);
  });

  it("a changed figure is caught, in the REST table and in the other figures", () => {
    const readme = fs.readFileSync(README, "utf8");
    const rest = readResults();
    rest.rest!.results[0]!.targets.health.requestsPerSecond += 1_000;
    expect(renderReadme(readme, rest)).not.toBe(readme);
    const other = readResults();
    other.limiter = {
      measuredAt: "2026-12-03T00:00:00Z",
      command: "npx tsx scripts/bench/limiter.ts",
      node: "v20",
      cpus: 2,
      loadAverage: 1,
      engines: { local: { "1 hot key": { decisionsPerSecond: 1, idle: { p50: 1, p99: 1 }, loaded: { p50: 1, p99: 1 }, mode: "local" } } },
    };
    if (JSON.stringify(other.limiter) !== JSON.stringify(readResults().limiter)) expect(renderReadme(readme, other)).not.toBe(readme);
  });
});
