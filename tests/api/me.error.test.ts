import { afterAll, beforeAll, describe, it } from "vitest";
import { call, expectProblem, setup, type Fixture } from "./support";

describe("GET /api/v1/me errors", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  it("refuses other methods with 405 and Allow", async () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
      const response = await call(f.app, "/api/v1/me", { key: f.memberKey, method });
      expectProblem(response, 405, "method_not_allowed");
      if (response.headers.get("allow") !== "GET, HEAD") throw new Error(`${method}: Allow is ${response.headers.get("allow")}`);
    }
  });

  it("is 401 missing_credentials without a key", async () => {
    expectProblem(await call(f.app, "/api/v1/me"), 401, "missing_credentials");
  });
});
