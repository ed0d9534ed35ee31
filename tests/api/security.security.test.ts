import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system } from "../support/keyward";
import { call, expectProblem, setup, type Fixture } from "./support";

describe("security endpoints: who may call them", () => {
  let f: Fixture;
  let alertId: string;
  let adminWriteKey: string;
  beforeAll(async () => {
    f = await setup();
    // An alert about the member's own key: even so, only admins may see it here or act on it.
    const { key, apiKey } = await f.createKey(f.member.id);
    await f.app.keyward.keys.revoke(system, apiKey.id);
    await call(f.app, "/api/v1/me", { key });
    await f.app.keyward.securityEvents.flush();
    alertId = (await f.app.keyward.security.listAlerts(system, {})).data[0]!.id;
    adminWriteKey = (await f.createKey(f.admin.id, { scopes: ["read", "write"] })).key;
  });
  afterAll(() => f.close());

  const endpoints = () => [
    { path: "/api/v1/security-events", method: "GET" },
    { path: "/api/v1/alerts", method: "GET" },
    { path: `/api/v1/alerts/${alertId}/ack`, method: "POST" },
    { path: `/api/v1/alerts/${alertId}/resolve`, method: "POST" },
  ];

  it("needs the admin scope: member keys and an admin's write key get 403, and nothing changes", async () => {
    for (const key of [f.memberKey, f.memberReadKey, f.otherKey, adminWriteKey]) {
      for (const { path, method } of endpoints()) {
        const response = await call(f.app, path, { key, method });
        expectProblem(response, 403, "insufficient_scope");
        expect(response.body.requiredScope).toBe("admin");
        expect(response.text).not.toContain(key);
      }
    }
    expect((await f.app.keyward.security.getAlert(system, alertId)).status).toBe("open");
  });

  it("without a key: 401 missing_credentials; with a bad one: 401 invalid_key", async () => {
    for (const { path, method } of endpoints()) {
      expectProblem(await call(f.app, path, { method }), 401, "missing_credentials");
      expectProblem(await call(f.app, path, { method, key: "kw_not_a_real_key" }), 401, "invalid_key");
    }
  });

  it("a key in the URL is refused before anything else", async () => {
    expectProblem(await call(f.app, `/api/v1/alerts?api_key=${encodeURIComponent(f.adminKey)}`, { key: f.adminKey }), 400, "credentials_in_url");
  });

  it("the admin scope sees and acts", async () => {
    expect((await call(f.app, "/api/v1/alerts", { key: f.adminKey })).status).toBe(200);
    expect((await call(f.app, `/api/v1/alerts/${alertId}/ack`, { key: f.adminKey, method: "POST" })).status).toBe(200);
  });
});
