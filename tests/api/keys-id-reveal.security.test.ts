import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectProblem, setup, type Fixture } from "./support";

describe("POST /api/v1/keys/{id}/reveal security", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  it("needs the admin scope: a member cannot reveal even their own recoverable key", async () => {
    const { key, apiKey } = await f.createKey(f.member.id, { recoverable: true });
    for (const caller of [f.memberKey, f.memberReadKey, key]) {
      const response = await call(f.app, `/api/v1/keys/${apiKey.id}/reveal`, { key: caller, method: "POST" });
      expectProblem(response, 403, "insufficient_scope");
      expect(response.text).not.toContain(key);
    }
  });

  it("an admin user's key without the admin scope cannot reveal", async () => {
    const { key, apiKey } = await f.createKey(f.member.id, { recoverable: true });
    const { key: adminWriteKey } = await f.createKey(f.admin.id, { scopes: ["read", "write"] });
    const response = await call(f.app, `/api/v1/keys/${apiKey.id}/reveal`, { key: adminWriteKey, method: "POST" });
    expectProblem(response, 403, "insufficient_scope");
    expect(response.text).not.toContain(key);
  });
});
