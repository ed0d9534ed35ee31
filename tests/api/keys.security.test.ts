import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system } from "../support/keyward";
import { call, expectProblem, setup, type Fixture } from "./support";
import { expectEvery } from "../support/expect";

type Page = { data: { id: string; ownerId: string }[] };

describe("/api/v1/keys security", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  const countKeys = async () => (await f.app.keyward.keys.list(system, { limit: 100 })).data.length;

  it("refuses scope escalation on create: 403 insufficient_scope, nothing created", async () => {
    const { key: adminWriteKey } = await f.createKey(f.admin.id, { scopes: ["write"] });
    const before = await countKeys();
    // A member may never hold admin.
    const member = await call(f.app, "/api/v1/keys", { key: f.memberKey, method: "POST", body: { name: "x", scopes: ["admin"] } });
    expectProblem(member, 403, "insufficient_scope");
    expect(member.body.requiredScope).toBe("admin");
    // An admin's write-only key cannot mint an admin key: a key never grants more than it holds.
    expectProblem(await call(f.app, "/api/v1/keys", { key: adminWriteKey, method: "POST", body: { name: "x", scopes: ["admin"] } }), 403, "insufficient_scope");
    // A read key cannot create at all.
    expectProblem(await call(f.app, "/api/v1/keys", { key: f.memberReadKey, method: "POST", body: { name: "x", scopes: ["read"] } }), 403, "insufficient_scope");
    expect(await countKeys()).toBe(before);
  });

  it("refuses a member creating a key for someone else", async () => {
    const before = await countKeys();
    const response = await call(f.app, "/api/v1/keys", { key: f.memberKey, method: "POST", body: { name: "x", scopes: ["read"], ownerId: f.other.id } });
    expectProblem(response, 403, "insufficient_scope");
    expect(await countKeys()).toBe(before);
  });

  it("never lists another owner's keys to a member, even when asked by ownerId", async () => {
    const asked = await call<Page>(f.app, `/api/v1/keys?ownerId=${f.other.id}`, { key: f.memberKey });
    expect(asked.status).toBe(200);
    expect(asked.body.data).toEqual([]);
    const own = await call<Page>(f.app, "/api/v1/keys?limit=100", { key: f.memberReadKey });
    expectEvery(own.body.data, (k) => k.ownerId === f.member.id);
  });

  it("lets a read key list but not create", async () => {
    expect((await call(f.app, "/api/v1/keys", { key: f.memberReadKey })).status).toBe(200);
  });
});
