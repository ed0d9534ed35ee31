import { afterAll, beforeAll, describe, it } from "vitest";
import { call, expectProblem, setup, type Fixture } from "./support";

describe("GET /api/v1/audit errors", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f?.close());

  it.each([
    ["limit=0"],
    ["limit=201"],
    ["limit=ten"],
    ["from=yesterday"],
    ["action=DROP%20TABLE"],
    ["actorId=%3Cscript%3E"],
    ["cursor=bm90LWEtY3Vyc29y"],
  ])("answers %s with 422 validation_failed", async (query) => {
    expectProblem(await call(f.app, `/api/v1/audit?${query}`, { key: f.adminKey }), 422, "validation_failed");
  });

  it("refuses an unknown export format before any download starts (422)", async () => {
    expectProblem(await call(f.app, "/api/v1/audit/export?format=xlsx", { key: f.adminKey }), 422, "validation_failed");
  });

  it("has no way to change or delete entries", async () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      expectProblem(await call(f.app, "/api/v1/audit", { key: f.adminKey, method, body: {} }), 405, "method_not_allowed");
    }
  });
});
