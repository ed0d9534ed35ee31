import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectProblem, setup, type Fixture } from "./support";

describe("unknown paths under /api/v1", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  it("are 404 not_found as problem+json, for any method, with or without a key", async () => {
    for (const path of ["/api/v1", "/api/v1/", "/api/v1/nope", "/api/v1/keys/key_00000000000000000000/usage/x", "/api/v1/me/extra", "/api/v1/%E0%A4%A"]) {
      for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) {
        expectProblem(await call(f.app, path, { method, key: f.memberKey }), 404, "not_found");
        expectProblem(await call(f.app, path, { method }), 404, "not_found");
      }
    }
  });

  it("keep /api/health and /api/ready public", async () => {
    expect((await call(f.app, "/api/health")).status).toBe(200);
    expect((await call(f.app, "/api/ready")).body).toMatchObject({ status: "ready" });
  });

  it("the benchmark's unauthenticated route does not exist unless KEYWARD_BENCH_KEY_ID is set", async () => {
    for (const method of ["GET", "POST"]) expectProblem(await call(f.app, "/api/v1/bench/me", { method }), 404, "not_found");
  });
});
