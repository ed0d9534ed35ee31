import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionActor } from "../../app/services/actor.server";
import { system } from "../support/keyward";
import { call, expectProblem, setup, type Fixture } from "./support";

describe("POST /api/v1/verify security", () => {
  let f: Fixture;
  /** Issues a key of an API of the member's, whose read key verifies it. */
  let issue: () => Promise<{ key: string }>;
  beforeAll(async () => {
    f = await setup();
    const api = await f.app.keyward.apis.create(sessionActor({ id: f.member.id, role: "member" }), { name: "Protected", prefix: "protected" });
    issue = () => f.app.keyward.keys.createIssued(system, api.id, {});
  });
  afterAll(() => f.close());

  it("the caller's own key goes through the middleware as usual", async () => {
    const { key } = await issue();
    expectProblem(await call(f.app, "/api/v1/verify", { method: "POST", body: { key } }), 401, "missing_credentials");
    const { key: revokedCaller, apiKey } = await f.createKey(f.member.id, { scopes: ["read"] });
    await f.app.keyward.keys.revoke(system, apiKey.id);
    expectProblem(await call(f.app, "/api/v1/verify", { key: revokedCaller, method: "POST", body: { key } }), 401, "key_revoked");
  });

  it("never puts the verified key in the response", async () => {
    const { key } = await issue();
    const response = await call(f.app, "/api/v1/verify", { key: f.memberReadKey, method: "POST", body: { key } });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ valid: true, code: "VALID" });
    expect(response.text).not.toContain(key);
  });

  it("refuses the key to verify in the URL", async () => {
    const { key } = await issue();
    expectProblem(await call(f.app, `/api/v1/verify?key=${key}`, { key: f.memberReadKey, method: "POST", body: { key } }), 400, "credentials_in_url");
  });
});
