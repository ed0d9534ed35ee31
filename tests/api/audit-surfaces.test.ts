import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system } from "../support/keyward";
import { login } from "../support/server";
import { call, setup, type Fixture } from "./support";

/**
 * The same kind of action from each surface (dashboard form, tRPC with a session, tRPC with a key,
 * REST) writes exactly one entry, naming the right actor, the key it came through, and the request.
 * The CLI's entries are checked in tests/cli/keys.test.ts.
 */
describe("every surface is audited once, with its actor", () => {
  let f: Fixture;
  let cookie: string;
  beforeAll(async () => {
    f = await setup();
    cookie = await login(f.app, f.admin.email, "correct horse battery staple");
  });
  afterAll(() => f?.close());

  const trail = async (keyId: string) => (await f.app.keyward.audit.forKey(system, { keyId })).data;
  const adminKeyId = async () => {
    const result = await f.app.keyward.verifier.authenticate(f.adminKey);
    return result.code === "VALID" ? result.key.id : null;
  };

  it("dashboard form, tRPC (session and key) and REST each leave one entry", async () => {
    const { apiKey } = await f.createKey(f.member.id, { name: "surfaces" });
    const browserHeaders = { Cookie: cookie, Origin: f.app.url, "User-Agent": "surface-test" };

    const form = await fetch(`${f.app.url}/keys?index`, {
      method: "POST",
      headers: { ...browserHeaders, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ intent: "disable", id: apiKey.id }),
    });
    expect(form.status).toBe(200);

    const viaSession = await call(f.app, "/api/trpc/keys.enable", { method: "POST", headers: browserHeaders, body: { id: apiKey.id } });
    expect(viaSession.status, viaSession.text).toBe(200);

    const viaKeyTrpc = await call(f.app, "/api/trpc/keys.update", { key: f.adminKey, method: "POST", body: { id: apiKey.id, name: "renamed by tRPC" } });
    expect(viaKeyTrpc.status, viaKeyTrpc.text).toBe(200);

    const viaRest = await call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.adminKey, method: "DELETE", headers: { "X-Request-Id": "rest-request-0001" } });
    expect(viaRest.status, viaRest.text).toBe(200);

    const entries = await trail(apiKey.id);
    expect(entries.map((e) => e.action)).toEqual(["key.revoked", "key.updated", "key.enabled", "key.disabled", "key.created"]);
    const [revoked, updated, enabled, disabled] = entries;
    const keyId = await adminKeyId();
    expect(disabled).toMatchObject({ actorType: "user", actorId: f.admin.id, actorKeyId: null, userAgent: "surface-test" });
    expect(enabled).toMatchObject({ actorType: "user", actorId: f.admin.id, actorKeyId: null });
    expect(updated).toMatchObject({ actorType: "api_key", actorId: f.admin.id, actorKeyId: keyId, details: { changes: { name: { from: "surfaces", to: "renamed by tRPC" } } } });
    expect(revoked).toMatchObject({ actorType: "api_key", actorId: f.admin.id, actorKeyId: keyId, requestId: "rest-request-0001" });
    for (const entry of entries.slice(0, 4)) {
      expect(entry.clientIp).toBeTruthy();
      expect(entry.requestId).toBeTruthy();
    }
  });

  it("a refused action leaves no entry", async () => {
    const { apiKey } = await f.createKey(f.other.id, { name: "not yours" });
    expect((await call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey, method: "DELETE" })).status).toBe(404);
    expect((await call(f.app, "/api/trpc/keys.disable", { key: f.memberReadKey, method: "POST", body: { id: apiKey.id } })).status).toBe(403);
    expect((await trail(apiKey.id)).map((e) => e.action)).toEqual(["key.created"]);
  });
});
