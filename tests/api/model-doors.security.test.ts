import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKey } from "../../app/lib/key-format";
import { appRouter } from "../../app/trpc/root.server";
import { system } from "../support/keyward";
import { call, expectProblem, setup, type Fixture } from "./support";

/**
 * The doors of the API model, over HTTP: issued keys never open Keyward's management API; a root
 * key restricted to some APIs, or a member's key, never reaches another API's keys, identities or
 * verifications (404 / INVALID, as if they did not exist); and verification checks API and
 * permissions without telling anything about keys the caller may not manage.
 */

type Verdict = Record<string, unknown> & { valid: boolean; code: string };
type TrpcError = { error: { data: { keywardCode: string; httpStatus: number } } };
type OpenApi = { paths: Record<string, Record<string, { "x-keyward-scope"?: string }>> };

const INVALID = { valid: false, code: "INVALID" };
const WELL_FORMED_IDS: Record<string, string> = { alerts: "alr_00000000000000000000", apis: "api_00000000000000000000", identities: "idt_00000000000000000000", keys: "key_00000000000000000000" };

describe("the API model's doors", () => {
  let f: Fixture;
  let apiA: string;
  let apiB: string;
  /** An issued key of API A (member's), and one of API B (member's). */
  let issuedA: { key: string; id: string };
  let issuedB: { key: string; id: string; identityId: string };

  beforeAll(async () => {
    f = await setup();
    const api = async (prefix: string, permissions?: string[]) =>
      (await call<{ id: string }>(f.app, "/api/v1/apis", { key: f.memberKey, method: "POST", body: { name: prefix, prefix, ...(permissions && { permissions }) } })).body.id;
    apiA = await api("doora");
    apiB = await api("doorb");
    const issue = async (apiId: string, body: Record<string, unknown>) => {
      const response = await call<{ key: string; apiKey: { id: string; identityId: string } }>(f.app, `/api/v1/apis/${apiId}/keys`, { key: f.memberKey, method: "POST", body });
      expect(response.status, response.text).toBe(201);
      return { key: response.body.key, id: response.body.apiKey.id, identityId: response.body.apiKey.identityId };
    };
    issuedA = await issue(apiA, { permissions: ["read"] });
    issuedB = await issue(apiB, { externalId: "b_customer", permissions: ["write"] });
  });
  afterAll(() => f.close());

  const verify = (caller: string, body: Record<string, unknown>) => call<Verdict>(f.app, "/api/v1/verify", { key: caller, method: "POST", body });

  describe("an issued key on Keyward's management API", () => {
    it("is refused with 403 not_a_root_key on every authenticated route of the OpenAPI document", async () => {
      const document = (await call<OpenApi>(f.app, "/api/v1/openapi.json")).body;
      const routes = Object.entries(document.paths).flatMap(([path, methods]) =>
        Object.entries(methods)
          .filter(([, operation]) => operation["x-keyward-scope"])
          .map(([method, operation]) => ({ method: method.toUpperCase(), path: path.replace("{id}", WELL_FORMED_IDS[path.split("/")[3]!]!), scope: operation["x-keyward-scope"] })),
      );
      expect(routes.length).toBeGreaterThan(30);
      expect(routes.map((route) => route.path)).toEqual(expect.arrayContaining(["/api/v1/events", "/api/v1/verify", "/api/v1/apis", `/api/v1/identities/${WELL_FORMED_IDS.identities}/revoke-keys`]));
      for (const route of routes) {
        const response = await call(f.app, route.path, { key: issuedA.key, method: route.method, body: route.method === "GET" || route.method === "DELETE" ? undefined : {} });
        expect(response.status, `${route.method} ${route.path}`).toBe(403);
        expectProblem(response, 403, "not_a_root_key");
      }
      // The key still works where it belongs: verified by a root key.
      expect((await verify(f.memberKey, { key: issuedA.key })).body.code).toBe("VALID");
    }, 60_000);

    it("is refused with not_a_root_key by every tRPC procedure, as query or mutation", async () => {
      const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>);
      expect(procedures.map(([path]) => path)).toEqual(expect.arrayContaining(["apis.list", "apis.keys.create", "identities.revokeKeys", "verify"]));
      for (const [path, procedure] of procedures) {
        const response =
          procedure._def.type === "query"
            ? await call<TrpcError>(f.app, `/api/trpc/${path}?input=${encodeURIComponent("{}")}`, { key: issuedA.key })
            : await call<TrpcError>(f.app, `/api/trpc/${path}`, { key: issuedA.key, method: "POST", body: {} });
        expect(response.status, path).toBe(403);
        expect(response.body.error.data.keywardCode, path).toBe("not_a_root_key");
      }
    }, 60_000);

    it("cannot open the event stream", async () => {
      expectProblem(await call(f.app, "/api/v1/events", { key: issuedB.key }), 403, "not_a_root_key");
    });
  });

  describe("a root key restricted to API A", () => {
    let restricted: string;
    let identityB: string;
    beforeAll(async () => {
      restricted = (await f.createKey(f.member.id, { name: "only A", scopes: ["read", "write"], apiIds: [apiA] })).key;
      identityB = issuedB.identityId;
    });

    it("sees API A and its keys", async () => {
      expect((await call(f.app, `/api/v1/apis/${apiA}`, { key: restricted })).status).toBe(200);
      expect((await call<{ data: { id: string }[] }>(f.app, `/api/v1/apis/${apiA}/keys`, { key: restricted })).body.data.map((k) => k.id)).toEqual([issuedA.id]);
      expect((await verify(restricted, { key: issuedA.key })).body).toMatchObject({ valid: true, code: "VALID", keyId: issuedA.id });
    });

    it("gets 404 for API B, its keys and its identities, and changes nothing", async () => {
      for (const [method, path, body] of [
        ["GET", `/api/v1/apis/${apiB}`],
        ["PATCH", `/api/v1/apis/${apiB}`, { name: "taken over" }],
        ["DELETE", `/api/v1/apis/${apiB}`],
        ["GET", `/api/v1/apis/${apiB}/keys`],
        ["POST", `/api/v1/apis/${apiB}/keys`, {}],
        ["GET", `/api/v1/keys/${issuedB.id}`],
        ["PATCH", `/api/v1/keys/${issuedB.id}`, { permissions: ["write", "read"] }],
        ["DELETE", `/api/v1/keys/${issuedB.id}`],
        ["POST", `/api/v1/keys/${issuedB.id}/rotate`, {}],
        ["GET", `/api/v1/identities/${identityB}`],
        ["PATCH", `/api/v1/identities/${identityB}`, { meta: { taken: true } }],
        ["DELETE", `/api/v1/identities/${identityB}`],
        ["POST", `/api/v1/identities/${identityB}/revoke-keys`],
        ["POST", `/api/v1/identities/${identityB}/disable-keys`],
        ["PATCH", "/api/v1/identities?externalId=b_customer", { meta: {} }],
        ["POST", "/api/v1/identities", { apiId: apiB, externalId: "sneaky" }],
      ] as const) {
        const response = await call(f.app, path, { key: restricted, method, body });
        expect(response.status, `${method} ${path}`).toBe(404);
        expectProblem(response, 404, "not_found");
      }
      expect((await call<{ data: { id: string }[] }>(f.app, "/api/v1/apis", { key: restricted })).body.data.map((a) => a.id)).toEqual([apiA]);
      expect((await call<{ data: unknown[] }>(f.app, "/api/v1/identities?externalId=b_customer", { key: restricted })).body.data).toEqual([]);
      expect((await call<{ data: { id: string }[] }>(f.app, "/api/v1/keys", { key: restricted })).body.data.map((k) => k.id)).not.toContain(issuedB.id);
      expect(await f.app.keyward.keys.get(system, issuedB.id)).toMatchObject({ status: "active", permissions: ["write"] });
      expect((await f.app.keyward.apis.get(system, apiB)).name).toBe("doorb");
    });

    it("gets the bare INVALID for API B's key, with or without apiId", async () => {
      expect((await verify(restricted, { key: issuedB.key })).body).toEqual(INVALID);
      expect((await verify(restricted, { key: issuedB.key, apiId: apiB })).body).toEqual(INVALID);
      expect((await verify(restricted, { key: issuedB.key, apiId: apiA })).body).toEqual(INVALID);
    });

    it("cannot create APIs, nor a root key less restricted than itself", async () => {
      expectProblem(await call(f.app, "/api/v1/apis", { key: restricted, method: "POST", body: { name: "new", prefix: "escape" } }), 403, "forbidden");
      expectProblem(await call(f.app, "/api/v1/keys", { key: restricted, method: "POST", body: { name: "wider", scopes: ["read"] } }), 403, "forbidden");
    });

    it("is refused on tRPC as on REST", async () => {
      const trpc = (path: string, input: unknown) => call<TrpcError>(f.app, `/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, { key: restricted });
      expect((await trpc("apis.get", { id: apiB })).body.error.data.keywardCode).toBe("not_found");
      expect((await trpc("identities.get", { id: identityB })).body.error.data.keywardCode).toBe("not_found");
      expect((await trpc("apis.keys.list", { apiId: apiB })).body.error.data.keywardCode).toBe("not_found");
      const verified = await call<{ result: { data: Verdict } }>(f.app, "/api/trpc/verify", { key: restricted, method: "POST", body: { key: issuedB.key } });
      expect(verified.body.result.data).toEqual(INVALID);
    });
  });

  describe("another member's root key", () => {
    it("gets 404 for the member's API, keys and identities, and INVALID from verify; an admin sees them", async () => {
      for (const path of [`/api/v1/apis/${apiA}`, `/api/v1/apis/${apiA}/keys`, `/api/v1/keys/${issuedA.id}`, `/api/v1/identities/${issuedB.identityId}`]) {
        expectProblem(await call(f.app, path, { key: f.otherKey }), 404, "not_found");
      }
      expectProblem(await call(f.app, `/api/v1/apis/${apiA}/keys`, { key: f.otherKey, method: "POST", body: {} }), 404, "not_found");
      expectProblem(await call(f.app, `/api/v1/identities/${issuedB.identityId}/revoke-keys`, { key: f.otherKey, method: "POST" }), 404, "not_found");
      expect((await call<{ data: unknown[] }>(f.app, "/api/v1/apis", { key: f.otherKey })).body.data).toEqual([]);
      expect((await verify(f.otherKey, { key: issuedA.key })).body).toEqual(INVALID);
      expect((await verify(f.otherKey, { key: issuedA.key, apiId: apiA })).body).toEqual(INVALID);

      expect((await call(f.app, `/api/v1/apis/${apiA}`, { key: f.adminKey })).status).toBe(200);
      expect((await verify(f.adminKey, { key: issuedA.key })).body).toMatchObject({ valid: true, keyId: issuedA.id });
    });
  });

  describe("verification", () => {
    it("answers the same bare INVALID for unknown keys, malformed keys, root keys and keys the caller may not manage, whatever their state", async () => {
      const { apiKey: revokedRoot, key: revokedRootKey } = await f.createKey(f.member.id, { name: "revoked root", scopes: ["read"] });
      await f.app.keyward.keys.revoke(system, revokedRoot.id);
      const othersApi = (await call<{ id: string }>(f.app, "/api/v1/apis", { key: f.otherKey, method: "POST", body: { name: "theirs", prefix: "theirs" } })).body;
      const theirs = (await call<{ key: string; apiKey: { id: string } }>(f.app, `/api/v1/apis/${othersApi.id}/keys`, { key: f.otherKey, method: "POST", body: { externalId: "their_customer", permissions: ["read"] } })).body;
      await call(f.app, `/api/v1/keys/${theirs.apiKey.id}`, { key: f.otherKey, method: "DELETE" });
      const answers = [
        await verify(f.memberKey, { key: generateKey("doora") }),
        await verify(f.memberKey, { key: "doora_short" }),
        await verify(f.memberKey, { key: f.memberReadKey }),
        await verify(f.memberKey, { key: revokedRootKey }),
        await verify(f.memberKey, { key: theirs.key }),
        await verify(f.memberKey, { key: theirs.key, apiId: othersApi.id, permissions: ["read"] }),
      ];
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.text).toBe(JSON.stringify(INVALID));
      }
      // Their owner is told the real state.
      expect((await verify(f.otherKey, { key: theirs.key })).body).toMatchObject({ valid: false, code: "REVOKED", keyId: theirs.apiKey.id });
    });

    it("says WRONG_API for a key of another of the caller's APIs", async () => {
      const wrong = await verify(f.memberKey, { key: issuedA.key, apiId: apiB });
      expect(wrong.body).toMatchObject({ valid: false, code: "WRONG_API", keyId: issuedA.id, apiId: apiA });
      expect((await verify(f.memberKey, { key: issuedA.key, apiId: apiA })).body).toMatchObject({ valid: true, code: "VALID", apiId: apiA });
    });

    it("checks permissions as a list (all), anyOf (one), with wildcards and implications", async () => {
      const shop = (await call<{ id: string }>(f.app, "/api/v1/apis", {
        key: f.memberKey,
        method: "POST",
        body: { name: "shop", prefix: "shopdoor", permissions: ["orders.read", "orders.write", "billing.read", "billing.admin"], implications: { "billing.admin": ["billing.read"] } },
      })).body.id;
      const issue = async (permissions: string[]) =>
        (await call<{ key: string }>(f.app, `/api/v1/apis/${shop}/keys`, { key: f.memberKey, method: "POST", body: { permissions } })).body.key;
      const orders = await issue(["orders.*"]);
      const billing = await issue(["billing.admin"]);
      const everything = await issue(["*"]);
      const check = async (key: string, permissions: unknown) => (await verify(f.memberKey, { key, apiId: shop, permissions })).body;

      expect(await check(orders, ["orders.read", "orders.write"])).toMatchObject({ valid: true, code: "VALID", permissions: ["orders.*"] });
      expect(await check(orders, ["orders.read", "billing.read"])).toMatchObject({ valid: false, code: "INSUFFICIENT_PERMISSIONS", missing: ["billing.read"] });
      expect(await check(orders, { anyOf: ["billing.read", "orders.write"] })).toMatchObject({ valid: true });
      expect(await check(orders, { anyOf: ["billing.read", "billing.admin"] })).toMatchObject({ valid: false, code: "INSUFFICIENT_PERMISSIONS", missing: ["billing.read", "billing.admin"] });
      expect(await check(billing, ["billing.read"])).toMatchObject({ valid: true });
      expect(await check(billing, ["orders.read"])).toMatchObject({ code: "INSUFFICIENT_PERMISSIONS", missing: ["orders.read"] });
      expect(await check(everything, ["orders.write", "billing.admin"])).toMatchObject({ valid: true });
      // Malformed queries are the caller's mistake: 422, not a verdict.
      expectProblem(await verify(f.memberKey, { key: orders, permissions: [] }), 422, "validation_failed");
      expectProblem(await verify(f.memberKey, { key: orders, permissions: { anyOf: ["orders.read"], allOf: [] } }), 422, "validation_failed");
    });
  });

  describe("an identity's bulk revoke", () => {
    it("revokes every key of the identity in one transaction, audited once with the count and ids", async () => {
      const issue = async () =>
        (await call<{ key: string; apiKey: { id: string; identityId: string } }>(f.app, `/api/v1/apis/${apiA}/keys`, { key: f.memberKey, method: "POST", body: { externalId: "bulk_customer" } })).body;
      const keys = [await issue(), await issue(), await issue()];
      const identityId = keys[0]!.apiKey.identityId;
      await call(f.app, `/api/v1/keys/${keys[2]!.apiKey.id}`, { key: f.memberKey, method: "PATCH", body: { disabled: true } });
      // Verified first, so the verdicts after the revoke must not come from a cached record.
      expect((await verify(f.memberKey, { key: keys[0]!.key })).body.code).toBe("VALID");

      const revoked = await call<{ count: number; keyIds: string[] }>(f.app, `/api/v1/identities/${identityId}/revoke-keys`, { key: f.memberKey, method: "POST" });
      expect(revoked.status).toBe(200);
      expect(revoked.body.count).toBe(3);
      expect([...revoked.body.keyIds].sort()).toEqual(keys.map((k) => k.apiKey.id).sort());

      const states = await Promise.all(keys.map((k) => f.app.keyward.keys.get(system, k.apiKey.id)));
      expect(states.map((s) => s.status)).toEqual(["revoked", "revoked", "revoked"]);
      // One transaction: one instant for every key.
      expect(new Set(states.map((s) => s.revokedAt)).size).toBe(1);
      for (const { key } of keys) expect((await verify(f.memberKey, { key })).body).toMatchObject({ valid: false, code: "REVOKED" });

      const audit = await f.app.keyward.audit.list(system, { targetId: identityId, action: "identity.keys_revoked" });
      expect(audit.data).toHaveLength(1);
      expect(audit.data[0]!.details).toMatchObject({ count: 3, apiId: apiA, externalId: "bulk_customer" });
      expect([...(audit.data[0]!.details.keyIds as string[])].sort()).toEqual([...revoked.body.keyIds].sort());
      expect(audit.data[0]!.occurredAt).toBe(states[0]!.revokedAt);
      // No per-key revocation entries: the bulk action is one entry.
      const perKey = await f.app.keyward.audit.list(system, { action: "key.revoked", targetId: keys[0]!.apiKey.id });
      expect(perKey.data).toEqual([]);
    });
  });
});
