import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectProblem, setup, type Fixture } from "./support";

/** IPv4-mapped IPv6 networks in an allowlist are valid IPv6 notation: stored as the IPv4 network they cover. */
describe("an allowlist written in IPv4-mapped IPv6 notation", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f?.close());

  const create = (allowedIps: string[]) =>
    call<{ key: string; apiKey: { allowedIps: string[] } }>(f.app, "/api/v1/keys", { key: f.memberKey, method: "POST", body: { name: "mapped", scopes: ["read"], allowedIps } });

  it("is accepted (201), normalised to IPv4, and admits the address it names", async () => {
    const created = await create(["::ffff:127.0.0.1/128", "::ffff:10.0.0.0/104"]);
    expect(created.status, created.text).toBe(201);
    expect(created.body.apiKey.allowedIps).toEqual(["127.0.0.1", "10.0.0.0/8"]);
    // The test server is reached from 127.0.0.1.
    expect((await call(f.app, "/api/v1/me", { key: created.body.key })).status).toBe(200);
  });

  it("refuses an address outside the mapped network", async () => {
    const created = await create(["::ffff:10.0.0.0/104"]);
    expect(created.status, created.text).toBe(201);
    expectProblem(await call(f.app, "/api/v1/me", { key: created.body.key }), 403, "ip_not_allowed");
  });

  it("refuses a mapped network whose prefix reaches past ::ffff:0:0/96 with 422, naming the entry", async () => {
    const refused = await create(["::ffff:10.0.0.0/8"]);
    expectProblem(refused, 422, "validation_failed");
    expect(refused.text).toContain("IPv4-mapped range");
  });
});
