import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../app/services/clock.server";
import { system } from "../support/keyward";
import { call, expectProblem, setup, type Fixture } from "./support";

describe("audit API security", () => {
  const clock = new ManualClock(new Date("2026-11-25T12:00:00Z"));
  let f: Fixture;
  beforeAll(async () => {
    f = await setup({ clock });
  });
  afterAll(() => f?.close());

  it.each(["/api/v1/audit", "/api/v1/audit/export"])("%s needs the admin scope", async (path) => {
    expectProblem(await call(f.app, path), 401, "missing_credentials");
    expectProblem(await call(f.app, path, { key: f.memberKey }), 403, "insufficient_scope");
    // An admin's key without the admin scope is refused as well: the key's scopes, not the owner's role.
    const { key } = await f.createKey(f.admin.id, { scopes: ["read", "write"] });
    expectProblem(await call(f.app, path, { key }), 403, "insufficient_scope");
  });

  it("refuses revoked, disabled and expired admin keys, and addresses outside the allowlist", async () => {
    const revoked = await f.createKey(f.admin.id, { scopes: ["admin"] });
    const disabled = await f.createKey(f.admin.id, { scopes: ["admin"] });
    const expiring = await f.createKey(f.admin.id, { scopes: ["admin"], expiresInDays: 1 });
    const fenced = await f.createKey(f.admin.id, { scopes: ["admin"], allowedIps: ["198.51.100.0/24"] });
    await f.app.keyward.keys.revoke(system, revoked.apiKey.id);
    await f.app.keyward.keys.disable(system, disabled.apiKey.id);
    clock.advance(2 * 86_400_000);
    expectProblem(await call(f.app, "/api/v1/audit", { key: revoked.key }), 401, "key_revoked");
    expectProblem(await call(f.app, "/api/v1/audit", { key: disabled.key }), 401, "key_disabled");
    expectProblem(await call(f.app, "/api/v1/audit/export", { key: expiring.key }), 401, "key_expired");
    expectProblem(await call(f.app, "/api/v1/audit", { key: fenced.key }), 403, "ip_not_allowed");
  });

  it("never contains a plaintext key, even of keys created and rotated through the API", async () => {
    const created = await call<{ key: string; apiKey: { id: string } }>(f.app, "/api/v1/keys", { key: f.adminKey, method: "POST", body: { name: "leak check", scopes: ["read"], recoverable: true } });
    const rotated = await call<{ key: string }>(f.app, `/api/v1/keys/${created.body.apiKey.id}/rotate`, { key: f.adminKey, method: "POST", body: {} });
    const listed = await call(f.app, "/api/v1/audit?limit=200", { key: f.adminKey });
    const exported = await fetch(`${f.app.url}/api/v1/audit/export?format=csv`, { headers: { Authorization: `Bearer ${f.adminKey}` } }).then((r) => r.text());
    for (const secret of [created.body.key, rotated.body.key, f.adminKey, f.memberKey]) {
      expect(listed.text).not.toContain(secret);
      expect(exported).not.toContain(secret);
    }
  });
});
