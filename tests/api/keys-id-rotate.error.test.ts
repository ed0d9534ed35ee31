import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system } from "../support/keyward";
import { call, expectProblem, setup, type Fixture } from "./support";

describe("POST /api/v1/keys/{id}/rotate errors", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  it("bounds the grace period to 0–604800 seconds (422)", async () => {
    const { apiKey } = await f.createKey(f.member.id);
    for (const gracePeriodSeconds of [-1, 604_801, 1.5, "60", null]) {
      const response = await call<{ errors: { field: string }[] }>(f.app, `/api/v1/keys/${apiKey.id}/rotate`, { key: f.memberKey, method: "POST", body: { gracePeriodSeconds } });
      expectProblem(response, 422, "validation_failed");
      expect(response.body.errors[0]!.field).toBe("gracePeriodSeconds");
    }
    expect((await call(f.app, `/api/v1/keys/${apiKey.id}/rotate`, { key: f.memberKey, method: "POST", body: { gracePeriodSeconds: 604_800 } })).status).toBe(201);
  });

  it("is 409 for a revoked key, 404 for an unknown one, 400 for malformed JSON, 405 for GET", async () => {
    const { apiKey } = await f.createKey(f.member.id);
    await f.app.keyward.keys.revoke(system, apiKey.id);
    expectProblem(await call(f.app, `/api/v1/keys/${apiKey.id}/rotate`, { key: f.memberKey, method: "POST" }), 409, "invalid_state");
    expectProblem(await call(f.app, "/api/v1/keys/key_00000000000000000000/rotate", { key: f.memberKey, method: "POST" }), 404, "not_found");
    const { apiKey: live } = await f.createKey(f.member.id);
    expectProblem(await call(f.app, `/api/v1/keys/${live.id}/rotate`, { key: f.memberKey, method: "POST", body: "{" }), 400, "invalid_json");
    const get = await call(f.app, `/api/v1/keys/${live.id}/rotate`, { key: f.memberKey });
    expectProblem(get, 405, "method_not_allowed");
    expect(get.headers.get("allow")).toBe("POST");
  });
});
