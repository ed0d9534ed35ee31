import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectProblem, setup, type Fixture } from "./support";
import { expectEvery } from "../support/expect";

type Identity = { id: string; apiId: string; externalId: string; meta: Record<string, unknown>; keyCount: { total: number; live: number } };
type Page<T> = { data: T[]; nextCursor: string | null };
type AuditPage = { data: { action: string; targetId: string; actorKeyId: string | null; details: Record<string, unknown> }[] };

describe("/api/v1/identities", () => {
  let f: Fixture;
  let apiId: string;
  let secondApiId: string;
  beforeAll(async () => {
    f = await setup();
    const created = await call<{ id: string }>(f.app, "/api/v1/apis", { key: f.memberKey, method: "POST", body: { name: "Identities", prefix: "idents" } });
    apiId = created.body.id;
    secondApiId = (await call<{ id: string }>(f.app, "/api/v1/apis", { key: f.memberKey, method: "POST", body: { name: "Second", prefix: "second" } })).body.id;
  });
  afterAll(() => f.close());

  const createIdentity = async (externalId: string, api = apiId, meta?: Record<string, unknown>) => {
    const response = await call<Identity>(f.app, "/api/v1/identities", { key: f.memberKey, method: "POST", body: { apiId: api, externalId, ...(meta && { meta }) } });
    expect(response.status, response.text).toBe(201);
    return response.body;
  };
  const issue = async (body: Record<string, unknown>, api = apiId) => {
    const response = await call<{ key: string; apiKey: { id: string; identityId: string | null } }>(f.app, `/api/v1/apis/${api}/keys`, { key: f.memberKey, method: "POST", body });
    expect(response.status, response.text).toBe(201);
    return response.body;
  };

  it("POST creates one (409 for a taken externalId in the same API); GET lists, filters and reads it", async () => {
    const identity = await createIdentity("user_42", apiId, { plan: "pro" });
    expect(identity).toMatchObject({ id: expect.stringMatching(/^idt_/), apiId, externalId: "user_42", meta: { plan: "pro" }, keyCount: { total: 0, live: 0 } });
    expectProblem(await call(f.app, "/api/v1/identities", { key: f.memberKey, method: "POST", body: { apiId, externalId: "user_42" } }), 409, "conflict");
    // Unique per API, not per instance.
    await createIdentity("user_42", secondApiId);

    const got = await call<Identity>(f.app, `/api/v1/identities/${identity.id}`, { key: f.memberReadKey });
    expect(got.body).toEqual(identity);
    const inApi = await call<Page<Identity>>(f.app, `/api/v1/identities?apiId=${apiId}`, { key: f.memberReadKey });
    expectEvery(inApi.body.data, (i) => i.apiId === apiId);
    const search = await call<Page<Identity>>(f.app, "/api/v1/identities?q=ser_4", { key: f.memberReadKey });
    expect(search.body.data.map((i) => i.externalId)).toEqual(["user_42", "user_42"]);
  });

  it("GET ?externalId= is the list, filtered: one per API, and an empty page for none", async () => {
    const both = await call<Page<Identity>>(f.app, "/api/v1/identities?externalId=user_42", { key: f.memberReadKey });
    expect(both.status).toBe(200);
    expect(both.body.data.map((i) => i.apiId).sort()).toEqual([apiId, secondApiId].sort());
    const one = await call<Page<Identity>>(f.app, `/api/v1/identities?externalId=user_42&apiId=${secondApiId}`, { key: f.memberReadKey });
    expect(one.body.data.map((i) => i.apiId)).toEqual([secondApiId]);
    const none = await call<Page<Identity>>(f.app, "/api/v1/identities?externalId=nobody", { key: f.memberReadKey });
    expect(none.body).toEqual({ data: [], nextCursor: null, hasMore: false });
  });

  it("PATCH and DELETE by ?externalId= act on the one identity it names: 409 when ambiguous, 404 for none, 422 without it", async () => {
    await createIdentity("by_external", apiId);
    const patched = await call<Identity>(f.app, "/api/v1/identities?externalId=by_external", { key: f.memberKey, method: "PATCH", body: { meta: { tier: 2 } } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ externalId: "by_external", meta: { tier: 2 } });
    expectProblem(await call(f.app, "/api/v1/identities?externalId=user_42", { key: f.memberKey, method: "PATCH", body: { meta: {} } }), 409, "conflict");
    const scoped = await call<Identity>(f.app, `/api/v1/identities?externalId=user_42&apiId=${apiId}`, { key: f.memberKey, method: "PATCH", body: { meta: { scoped: true } } });
    expect(scoped.body).toMatchObject({ apiId, meta: { scoped: true } });
    expectProblem(await call(f.app, "/api/v1/identities?externalId=nobody", { key: f.memberKey, method: "DELETE" }), 404, "not_found");
    expectProblem(await call(f.app, "/api/v1/identities", { key: f.memberKey, method: "DELETE" }), 422, "validation_failed");
    const deleted = await call(f.app, "/api/v1/identities?externalId=by_external", { key: f.memberKey, method: "DELETE" });
    expect(deleted.status, deleted.text).toBe(200);
    expect(deleted.body).toEqual({ id: patched.body.id, deleted: true, detachedKeys: 0 });
    expectProblem(await call(f.app, `/api/v1/identities/${patched.body.id}`, { key: f.memberReadKey }), 404, "not_found");
  });

  it("PATCH by id changes the externalId (409 when taken); DELETE is refused while it has live keys", async () => {
    const identity = await createIdentity("renamed_from");
    const renamed = await call<Identity>(f.app, `/api/v1/identities/${identity.id}`, { key: f.memberKey, method: "PATCH", body: { externalId: "renamed_to" } });
    expect(renamed.body.externalId).toBe("renamed_to");
    expectProblem(await call(f.app, `/api/v1/identities/${identity.id}`, { key: f.memberKey, method: "PATCH", body: { externalId: "user_42" } }), 409, "conflict");
    expectProblem(await call(f.app, `/api/v1/identities/${identity.id}`, { key: f.memberKey, method: "PATCH", body: { apiId } }), 422, "validation_failed");
    const { apiKey } = await issue({ identityId: identity.id });
    expect(apiKey.identityId).toBe(identity.id);
    expectProblem(await call(f.app, `/api/v1/identities/${identity.id}`, { key: f.memberKey, method: "DELETE" }), 409, "conflict");
    await call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey, method: "DELETE" });
    const deleted = await call(f.app, `/api/v1/identities/${identity.id}`, { key: f.memberKey, method: "DELETE" });
    expect(deleted.body).toEqual({ id: identity.id, deleted: true, detachedKeys: 1 });
  });

  it("disable-keys and revoke-keys change every key of the identity at once, with one audit entry each", async () => {
    const first = await issue({ externalId: "bulk" });
    const identityId = first.apiKey.identityId!;
    const second = await issue({ externalId: "bulk" });
    const bystander = await issue({ externalId: "someone_else" });

    const disabled = await call(f.app, `/api/v1/identities/${identityId}/disable-keys`, { key: f.memberKey, method: "POST" });
    expect(disabled.status, disabled.text).toBe(200);
    expect(disabled.body).toEqual({ identityId, count: 2, keyIds: expect.arrayContaining([first.apiKey.id, second.apiKey.id]) });
    const revoked = await call(f.app, `/api/v1/identities/${identityId}/revoke-keys`, { key: f.memberKey, method: "POST" });
    expect(revoked.body).toEqual({ identityId, count: 2, keyIds: expect.arrayContaining([first.apiKey.id, second.apiKey.id]) });
    const again = await call(f.app, `/api/v1/identities/${identityId}/revoke-keys`, { key: f.memberKey, method: "POST" });
    expect(again.body).toEqual({ identityId, count: 0, keyIds: [] });

    for (const { apiKey } of [first, second]) expect((await call<{ status: string }>(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberReadKey })).body.status).toBe("revoked");
    expect((await call<{ status: string }>(f.app, `/api/v1/keys/${bystander.apiKey.id}`, { key: f.memberReadKey })).body.status).toBe("active");
    const identity = await call<Identity>(f.app, `/api/v1/identities/${identityId}`, { key: f.memberReadKey });
    expect(identity.body.keyCount).toEqual({ total: 2, live: 0 });

    const audit = await call<AuditPage>(f.app, `/api/v1/audit?targetId=${identityId}`, { key: f.adminKey });
    const bulk = audit.body.data.filter((entry) => entry.action === "identity.keys_revoked" || entry.action === "identity.keys_disabled");
    expect(bulk.map((entry) => [entry.action, entry.details.count])).toEqual([
      ["identity.keys_revoked", 0],
      ["identity.keys_revoked", 2],
      ["identity.keys_disabled", 2],
    ]);
    expect(bulk[1]!.actorKeyId).toMatch(/^key_/);
  });

  it("answers malformed ids with 404 and a read-only key's changes with 403", async () => {
    expectProblem(await call(f.app, "/api/v1/identities/idt_short", { key: f.memberReadKey }), 404, "not_found");
    expectProblem(await call(f.app, "/api/v1/identities/key_00000000000000000000/revoke-keys", { key: f.memberKey, method: "POST" }), 404, "not_found");
    const identity = await createIdentity("read_only");
    expectProblem(await call(f.app, `/api/v1/identities/${identity.id}/revoke-keys`, { key: f.memberReadKey, method: "POST" }), 403, "insufficient_scope");
  });
});
