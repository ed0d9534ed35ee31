import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectProblem, setup, type Fixture } from "./support";

describe("POST /api/v1/verify errors", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  const verify = (body: unknown) => call<{ errors: { field: string }[] }>(f.app, "/api/v1/verify", { key: f.memberReadKey, method: "POST", body });

  it("a request that is not well-formed is 422 (not a verdict)", async () => {
    for (const [body, field] of [
      [{}, "key"],
      [{ key: 42 }, "key"],
      [{ key: "x".repeat(257) }, "key"],
      [{ key: "kw_x", scope: "read" }, "body"],
      [{ key: "kw_x", apiId: "not-an-api" }, "apiId"],
      [{ key: "kw_x", permissions: [] }, "permissions"],
      [{ key: "kw_x", permissions: ["not a name"] }, "permissions.0"],
      [{ key: "kw_x", permissions: { anyOf: ["orders.read"], allOf: ["orders.write"] } }, "permissions"],
      [{ key: "kw_x", ip: "not-an-ip" }, "ip"],
      [{ key: "kw_x", extra: true }, "body"],
    ] as const) {
      const response = await verify(body);
      expectProblem(response, 422, "validation_failed");
      expect(response.body.errors.map((e) => e.field)).toContain(field);
    }
  });

  it("malformed JSON is 400, oversize is 413, GET is 405", async () => {
    expectProblem(await verify("{"), 400, "invalid_json");
    expectProblem(await verify({ key: "k".repeat(70_000) }), 413, "payload_too_large");
    const get = await call(f.app, "/api/v1/verify", { key: f.memberReadKey });
    expectProblem(get, 405, "method_not_allowed");
    expect(get.headers.get("allow")).toBe("POST");
  });
});
