import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWellFormedKey, KEY_LENGTH } from "../../app/lib/key-format";
import { call, expectProblem, setup, type Fixture } from "./support";

type Api = { id: string; name: string; prefix: string; ownerId: string; permissions: string[]; defaults: Record<string, unknown>; archivedAt: string | null; keyCount: { total: number; live: number } };
type Key = { id: string; kind: string; apiId: string | null; identityId: string | null; permissions: string[]; status: string; name: string; rateLimit: unknown; scopes: string[] };
type Page<T> = { data: T[]; nextCursor: string | null };

describe("/api/v1/apis", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  const createApi = async (prefix: string, body: Record<string, unknown> = {}) => {
    const response = await call<Api>(f.app, "/api/v1/apis", { key: f.memberKey, method: "POST", body: { name: `API ${prefix}`, prefix, ...body } });
    expect(response.status, response.text).toBe(201);
    return response.body;
  };

  it("POST creates an API owned by the caller's owner, with the default vocabulary; GET lists and reads it", async () => {
    const api = await createApi("acme_live");
    expect(api).toMatchObject({ id: expect.stringMatching(/^api_/), prefix: "acme_live", ownerId: f.member.id, permissions: ["read", "write", "admin"], archivedAt: null, keyCount: { total: 0, live: 0 } });
    const listed = await call<Page<Api>>(f.app, "/api/v1/apis", { key: f.memberReadKey });
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((a) => a.id)).toContain(api.id);
    const got = await call<Api>(f.app, `/api/v1/apis/${api.id}`, { key: f.memberReadKey });
    expect(got.body).toEqual(api);
  });

  it("POST refuses a taken prefix (409), a reserved or malformed one (422) and unknown fields (422)", async () => {
    await createApi("taken");
    expectProblem(await call(f.app, "/api/v1/apis", { key: f.otherKey, method: "POST", body: { name: "x", prefix: "taken" } }), 409, "conflict");
    expectProblem(await call(f.app, "/api/v1/apis", { key: f.memberKey, method: "POST", body: { name: "x", prefix: "kw" } }), 422, "validation_failed");
    expectProblem(await call(f.app, "/api/v1/apis", { key: f.memberKey, method: "POST", body: { name: "x", prefix: "Bad-Prefix" } }), 422, "validation_failed");
    expectProblem(await call(f.app, "/api/v1/apis", { key: f.memberKey, method: "POST", body: { name: "x", prefix: "okay", colour: "red" } }), 422, "validation_failed");
  });

  it("PATCH renames it and changes its vocabulary and defaults", async () => {
    const api = await createApi("shop");
    const response = await call<Api>(f.app, `/api/v1/apis/${api.id}`, {
      key: f.memberKey,
      method: "PATCH",
      body: { name: "Shop", permissions: ["orders.read", "orders.write"], implications: { "orders.write": ["orders.read"] }, defaults: { expiresInDays: 30, maxTtlDays: 90 } },
    });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toMatchObject({ name: "Shop", prefix: "shop", permissions: ["orders.read", "orders.write"], defaults: { expiresInDays: 30, maxTtlDays: 90 } });
  });

  it("issues keys under its prefix with permissions and an implicit identity, and lists them with filters", async () => {
    const api = await createApi("orders", { permissions: ["orders.read", "orders.write"] });
    const created = await call<{ key: string; apiKey: Key }>(f.app, `/api/v1/apis/${api.id}/keys`, {
      key: f.memberKey,
      method: "POST",
      body: { name: "acme corp", externalId: "cust_1", permissions: ["orders.*"], expiresInDays: 7, meta: { plan: "pro" } },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.key).toHaveLength(KEY_LENGTH);
    expect(created.body.key.startsWith("orders_")).toBe(true);
    expect(isWellFormedKey(created.body.key)).toBe(true);
    expect(created.body.apiKey).toMatchObject({ kind: "issued", apiId: api.id, identityId: expect.stringMatching(/^idt_/), permissions: ["orders.*"], scopes: [], status: "active" });
    const identityId = created.body.apiKey.identityId!;
    await call(f.app, `/api/v1/apis/${api.id}/keys`, { key: f.memberKey, method: "POST", body: { name: "anonymous" } });

    const all = await call<Page<Key>>(f.app, `/api/v1/apis/${api.id}/keys`, { key: f.memberReadKey });
    expect(all.status).toBe(200);
    expect(all.body.data.map((k) => k.name).sort()).toEqual(["acme corp", "anonymous"]);
    const byExternal = await call<Page<Key>>(f.app, `/api/v1/apis/${api.id}/keys?externalId=cust_1`, { key: f.memberReadKey });
    expect(byExternal.body.data.map((k) => k.id)).toEqual([created.body.apiKey.id]);
    const byIdentity = await call<Page<Key>>(f.app, `/api/v1/apis/${api.id}/keys?identityId=${identityId}`, { key: f.memberReadKey });
    expect(byIdentity.body.data.map((k) => k.id)).toEqual([created.body.apiKey.id]);
    const byName = await call<Page<Key>>(f.app, `/api/v1/apis/${api.id}/keys?q=anon&status=active`, { key: f.memberReadKey });
    expect(byName.body.data.map((k) => k.name)).toEqual(["anonymous"]);
    const paged = await call<Page<Key>>(f.app, `/api/v1/apis/${api.id}/keys?limit=1`, { key: f.memberReadKey });
    expect(paged.body.data).toHaveLength(1);
    const next = await call<Page<Key>>(f.app, `/api/v1/apis/${api.id}/keys?limit=1&cursor=${paged.body.nextCursor}`, { key: f.memberReadKey });
    expect(next.body.data).toHaveLength(1);
    expect(next.body.data[0]!.id).not.toBe(paged.body.data[0]!.id);
    // The root keys list stays apart, and GET /api/v1/keys filters by kind and apiId too.
    const issuedOnly = await call<Page<Key>>(f.app, `/api/v1/keys?kind=issued&apiId=${api.id}`, { key: f.memberReadKey });
    expect(issuedOnly.body.data).toHaveLength(2);
  });

  it("manages issued keys through /api/v1/keys/{id}: read, change permissions, revoke", async () => {
    const api = await createApi("manage", { permissions: ["a", "b"] });
    const created = await call<{ key: string; apiKey: Key }>(f.app, `/api/v1/apis/${api.id}/keys`, { key: f.memberKey, method: "POST", body: { permissions: ["a"] } });
    const id = created.body.apiKey.id;
    const got = await call<Key>(f.app, `/api/v1/keys/${id}`, { key: f.memberReadKey });
    expect(got.body).toMatchObject({ kind: "issued", apiId: api.id, permissions: ["a"] });
    const patched = await call<Key>(f.app, `/api/v1/keys/${id}`, { key: f.memberKey, method: "PATCH", body: { permissions: ["a", "b"] } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.permissions).toEqual(["a", "b"]);
    // Scopes belong to root keys, permissions to issued keys.
    expectProblem(await call(f.app, `/api/v1/keys/${id}`, { key: f.memberKey, method: "PATCH", body: { scopes: ["read"] } }), 422, "validation_failed");
    const root = await call<{ apiKey: Key }>(f.app, "/api/v1/keys", { key: f.memberKey, method: "POST", body: { name: "root", scopes: ["read"], apiIds: [api.id] } });
    expect(root.status, root.text).toBe(201);
    expect(root.body.apiKey).toMatchObject({ kind: "root", apiId: null, apiIds: [api.id], permissions: [] });
    expectProblem(await call(f.app, `/api/v1/keys/${root.body.apiKey.id}`, { key: f.memberKey, method: "PATCH", body: { permissions: ["a"] } }), 422, "validation_failed");
    const revoked = await call<Key>(f.app, `/api/v1/keys/${id}`, { key: f.memberKey, method: "DELETE" });
    expect(revoked.body.status).toBe("revoked");
  });

  it("DELETE is refused (409) while the API has live keys, then archives it: its keys stay readable", async () => {
    const api = await createApi("archive");
    const created = await call<{ key: string; apiKey: Key }>(f.app, `/api/v1/apis/${api.id}/keys`, { key: f.memberKey, method: "POST", body: {} });
    expectProblem(await call(f.app, `/api/v1/apis/${api.id}`, { key: f.memberKey, method: "DELETE" }), 409, "conflict");
    await call(f.app, `/api/v1/keys/${created.body.apiKey.id}`, { key: f.memberKey, method: "DELETE" });
    const archived = await call<Api>(f.app, `/api/v1/apis/${api.id}`, { key: f.memberKey, method: "DELETE" });
    expect(archived.status).toBe(200);
    expect(archived.body.archivedAt).not.toBeNull();
    const listed = await call<Page<Api>>(f.app, "/api/v1/apis", { key: f.memberReadKey });
    expect(listed.body.data.map((a) => a.id)).not.toContain(api.id);
    const withArchived = await call<Page<Api>>(f.app, "/api/v1/apis?includeArchived=true", { key: f.memberReadKey });
    expect(withArchived.body.data.map((a) => a.id)).toContain(api.id);
    expect((await call<Key>(f.app, `/api/v1/keys/${created.body.apiKey.id}`, { key: f.memberReadKey })).body.status).toBe("revoked");
    expectProblem(await call(f.app, `/api/v1/apis/${api.id}/keys`, { key: f.memberKey, method: "POST", body: {} }), 409, "invalid_state");
  });

  it("answers malformed ids and unknown methods like the rest of the API", async () => {
    expectProblem(await call(f.app, "/api/v1/apis/not-an-id", { key: f.memberReadKey }), 404, "not_found");
    expectProblem(await call(f.app, "/api/v1/apis/not-an-id/keys", { key: f.memberReadKey }), 404, "not_found");
    expectProblem(await call(f.app, "/api/v1/apis", { key: f.memberKey, method: "PATCH", body: {} }), 405, "method_not_allowed");
    expectProblem(await call(f.app, "/api/v1/apis", { key: f.memberReadKey, method: "POST", body: { name: "x", prefix: "readonly" } }), 403, "insufficient_scope");
  });
});
