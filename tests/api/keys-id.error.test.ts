import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system } from "../support/keyward";
import { call, expectProblem, setup, type Fixture } from "./support";

type FieldErrors = { errors: { field: string }[] };

describe("/api/v1/keys/{id} errors", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  it("is 404 for an unknown or malformed id, for every method", async () => {
    for (const id of ["key_00000000000000000000", "nope", "key_%20", "kw_short"]) {
      for (const method of ["GET", "PATCH", "DELETE"]) {
        expectProblem(await call(f.app, `/api/v1/keys/${id}`, { key: f.adminKey, method, body: method === "PATCH" ? { name: "x" } : undefined }), 404, "not_found");
      }
    }
  });

  it("PATCH lists invalid fields (422), refuses unknown ones, and malformed or oversize bodies", async () => {
    const { apiKey } = await f.createKey(f.member.id);
    const path = `/api/v1/keys/${apiKey.id}`;
    const invalid = await call<FieldErrors>(f.app, path, { key: f.memberKey, method: "PATCH", body: { name: "", scopes: [], disabled: "yes", expiresAt: "tomorrow", allowedIps: ["300.1.1.1"] } });
    expectProblem(invalid, 422, "validation_failed");
    expect(invalid.body.errors.map((e) => e.field)).toEqual(expect.arrayContaining(["name", "scopes", "disabled", "expiresAt", "allowedIps.0"]));
    expectProblem(await call(f.app, path, { key: f.memberKey, method: "PATCH", body: { revokedAt: null } }), 422, "validation_failed");
    expectProblem(await call(f.app, path, { key: f.memberKey, method: "PATCH", body: { ownerId: f.other.id } }), 422, "validation_failed");
    expectProblem(await call(f.app, path, { key: f.memberKey, method: "PATCH", body: "{not json" }), 400, "invalid_json");
    expectProblem(await call(f.app, path, { key: f.memberKey, method: "PATCH", body: { metadata: { blob: "x".repeat(65 * 1024) } } }), 413, "payload_too_large");
    expectProblem(await call(f.app, path, { key: f.memberKey, method: "PATCH", body: { metadata: { blob: "x".repeat(5000) } } }), 422, "validation_failed");
    expect((await f.app.keyward.keys.get(system, apiKey.id)).name).toBe(apiKey.name);
  });

  it("PATCH on a revoked key is 409 invalid_state", async () => {
    const { apiKey } = await f.createKey(f.member.id);
    await f.app.keyward.keys.revoke(system, apiKey.id);
    expectProblem(await call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey, method: "PATCH", body: { name: "again" } }), 409, "invalid_state");
    expectProblem(await call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey, method: "PATCH", body: { disabled: false } }), 409, "invalid_state");
  });

  it("is 405 with Allow for POST and PUT", async () => {
    const { apiKey } = await f.createKey(f.member.id);
    for (const method of ["POST", "PUT"]) {
      const response = await call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey, method });
      expectProblem(response, 405, "method_not_allowed");
      expect(response.headers.get("allow")).toBe("GET, HEAD, PATCH, DELETE");
    }
  });

  it("read keys cannot PATCH or DELETE (403 insufficient_scope)", async () => {
    const { apiKey } = await f.createKey(f.member.id);
    expectProblem(await call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberReadKey, method: "PATCH", body: { name: "x" } }), 403, "insufficient_scope");
    expectProblem(await call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberReadKey, method: "DELETE" }), 403, "insufficient_scope");
    expect((await f.app.keyward.keys.get(system, apiKey.id)).status).toBe("active");
  });
});
