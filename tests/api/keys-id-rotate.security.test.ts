import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system } from "../support/keyward";
import { call, expectProblem, keyState, setup, type Fixture } from "./support";

describe("POST /api/v1/keys/{id}/rotate security", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  const count = async () => (await f.app.keyward.keys.list(system, { limit: 100 })).data.length;

  it("needs the write scope, and never rotates another owner's key (404)", async () => {
    const { apiKey } = await f.createKey(f.other.id);
    const before = await keyState(f.app, apiKey.id);
    const keys = await count();
    expectProblem(await call(f.app, `/api/v1/keys/${apiKey.id}/rotate`, { key: f.memberKey, method: "POST" }), 404, "not_found");
    const { apiKey: own } = await f.createKey(f.member.id);
    const ownBefore = await keyState(f.app, own.id);
    expectProblem(await call(f.app, `/api/v1/keys/${own.id}/rotate`, { key: f.memberReadKey, method: "POST" }), 403, "insufficient_scope");
    expect(await keyState(f.app, apiKey.id)).toEqual(before);
    expect(await keyState(f.app, own.id)).toEqual(ownBefore);
    expect(await count()).toBe(keys + 1);
  });

  it("cannot rotate a key holding more than the caller (no escalation by rotation)", async () => {
    const { apiKey } = await f.createKey(f.admin.id, { scopes: ["admin"] });
    const { key: adminWriteKey } = await f.createKey(f.admin.id, { scopes: ["write"] });
    expectProblem(await call(f.app, `/api/v1/keys/${apiKey.id}/rotate`, { key: adminWriteKey, method: "POST" }), 403, "insufficient_scope");
    expect((await keyState(f.app, apiKey.id)).expiresAt).toBeNull();
  });
});
