import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system } from "../support/keyward";
import { call, expectProblem, setup, type Fixture } from "./support";

describe("POST /api/v1/keys/{id}/reveal errors", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  it("is 409 not_recoverable for a key created without a copy, 409 for a revoked one, 404 for an unknown one", async () => {
    const { apiKey } = await f.createKey(f.member.id);
    expectProblem(await call(f.app, `/api/v1/keys/${apiKey.id}/reveal`, { key: f.adminKey, method: "POST" }), 409, "not_recoverable");
    const { apiKey: revoked } = await f.createKey(f.member.id, { recoverable: true });
    await f.app.keyward.keys.revoke(system, revoked.id);
    expectProblem(await call(f.app, `/api/v1/keys/${revoked.id}/reveal`, { key: f.adminKey, method: "POST" }), 409, "invalid_state");
    expectProblem(await call(f.app, "/api/v1/keys/key_00000000000000000000/reveal", { key: f.adminKey, method: "POST" }), 404, "not_found");
  });

  it("is 405 with Allow: POST for other methods", async () => {
    const response = await call(f.app, "/api/v1/keys/key_00000000000000000000/reveal", { key: f.adminKey });
    expectProblem(response, 405, "method_not_allowed");
    expect(response.headers.get("allow")).toBe("POST");
  });
});
