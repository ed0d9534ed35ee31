import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system } from "../support/keyward";
import { call, expectProblem, setup, type Fixture } from "./support";

describe("/api/v1/users errors", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  it("bad bodies: malformed JSON 400, schema violations 422 naming the field, duplicate email 409", async () => {
    const post = (body: unknown) => call(f.app, "/api/v1/users", { key: f.adminKey, method: "POST", body });
    expectProblem(await post("{not json"), 400, "invalid_json");
    const short = await post({ email: "x@example.test", password: "short" });
    expectProblem(short, 422, "validation_failed");
    expect(short.body.errors).toEqual([expect.objectContaining({ field: "password" })]);
    const unknownField = await post({ email: "x@example.test", password: "a long enough password", admin: true });
    expectProblem(unknownField, 422, "validation_failed");
    expectProblem(await post({ email: "x@example.test", password: "a long enough password", role: "owner" }), 422, "validation_failed");
    expectProblem(await post({ email: "not an email", password: "a long enough password" }), 422, "validation_failed");
    const duplicate = await post({ email: f.member.email.toUpperCase(), password: "a long enough password" });
    expectProblem(duplicate, 409, "conflict");

    const patch = (body: unknown) => call(f.app, `/api/v1/users/${f.member.id}`, { key: f.adminKey, method: "PATCH", body });
    expectProblem(await patch({}), 422, "validation_failed");
    expectProblem(await patch({ disabled: "yes" }), 422, "validation_failed");
    expectProblem(await patch({ email: "renamed@example.test" }), 422, "validation_failed");
    const reset = await call(f.app, `/api/v1/users/${f.member.id}/reset-password`, { key: f.adminKey, method: "POST", body: { password: "short" } });
    expectProblem(reset, 422, "validation_failed");
  });

  it("unknown or malformed ids are 404, for every method", async () => {
    for (const id of ["usr_00000000000000000000", "not-a-user-id"]) {
      expectProblem(await call(f.app, `/api/v1/users/${id}`, { key: f.adminKey }), 404, "not_found");
      expectProblem(await call(f.app, `/api/v1/users/${id}`, { key: f.adminKey, method: "PATCH", body: { disabled: true } }), 404, "not_found");
      expectProblem(await call(f.app, `/api/v1/users/${id}/reset-password`, { key: f.adminKey, method: "POST" }), 404, "not_found");
    }
    expectProblem(await call(f.app, "/api/v1/users", { key: f.adminKey, method: "DELETE" }), 405, "method_not_allowed");
  });

  it("keeps an active admin: the last one cannot be demoted or disabled (409), and nothing changes", async () => {
    // The fixture's admin is the only admin: a second admin's key acts on them.
    const second = await f.app.keyward.users.create(system, { email: "second-admin@example.test", password: "a long admin password", role: "admin" });
    const { key } = await f.app.keyward.keys.create(system, { name: "second admin key", scopes: ["admin"], ownerId: second.id });
    expect((await call(f.app, `/api/v1/users/${f.admin.id}`, { key, method: "PATCH", body: { role: "member" } })).status).toBe(200);
    // Now `second` is the last active admin, and `f.adminKey`'s owner is a member (its admin scope no longer applies).
    const demoteLast = await call(f.app, `/api/v1/users/${second.id}`, { key, method: "PATCH", body: { role: "member" } });
    expectProblem(demoteLast, 409, "invalid_state");
    await f.app.keyward.users.setRole(system, f.admin.id, "admin");
    const disableLast = await call(f.app, `/api/v1/users/${f.admin.id}`, { key: f.adminKey, method: "PATCH", body: { disabled: true } });
    expectProblem(disableLast, 409, "invalid_state");
    expect(await f.app.keyward.users.get(system, second.id)).toMatchObject({ role: "admin", disabledAt: null });
  });
});
