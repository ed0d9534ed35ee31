import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { README, readRestResults, renderRestBlock, withBlock } from "../../scripts/bench/readme-figures";

/**
 * The README's REST figures are generated from the committed results of `npm run bench:rest`:
 * a figure edited by hand, or a results file re-measured without regenerating the README, fails here.
 */
describe("the README's published figures", () => {
  it("match the committed results file of the REST benchmark", () => {
    const readme = fs.readFileSync(README, "utf8");
    const results = readRestResults();
    expect(results.results.map((result) => result.backend).sort()).toEqual(["pglite", "postgres+redis"]);
    const expected = withBlock(readme, renderRestBlock(results));
    expect(expected, "README.md has no generated bench:rest block").not.toBeNull();
    expect(readme, "README.md's REST figures differ from bench-results/rest.json: run `npm run bench:readme`").toBe(expected);
  });

  it("a changed figure is caught", () => {
    const readme = fs.readFileSync(README, "utf8");
    const results = readRestResults();
    results.results[0]!.targets.health.requestsPerSecond += 1_000;
    expect(withBlock(readme, renderRestBlock(results))).not.toBe(readme);
  });
});
