import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system } from "../support/keyward";
import { call, expectProblem, setup, type Fixture } from "./support";

/** REST bodies are JSON and must say so: anything else is 415 unsupported_media_type, and nothing happens. */
describe("request bodies that are not declared JSON", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  const keyCount = async () => (await f.app.keyward.keys.list(system, { limit: 100, ownerId: f.admin.id })).data.length;
  const body = JSON.stringify({ name: "sneaky", scopes: ["read"] });

  it.each([
    ["text/plain", "text/plain;charset=UTF-8"],
    ["a form", "application/x-www-form-urlencoded"],
    ["multipart", "multipart/form-data; boundary=x"],
    ["XML", "application/xml"],
  ])("refuses %s with 415 and creates nothing", async (_what, contentType) => {
    const before = await keyCount();
    const response = await call(f.app, "/api/v1/keys", { method: "POST", key: f.adminKey, body, headers: { "Content-Type": contentType } });
    expectProblem(response, 415, "unsupported_media_type");
    expect(await keyCount()).toBe(before);
  });

  it("refuses a body sent without any Content-Type", async () => {
    const before = await keyCount();
    // A byte body: fetch adds no Content-Type of its own.
    const response = await fetch(`${f.app.url}/api/v1/keys`, { method: "POST", headers: { Authorization: `Bearer ${f.adminKey}` }, body: new TextEncoder().encode(body) });
    expect(response.status).toBe(415);
    expect(((await response.json()) as { code: string }).code).toBe("unsupported_media_type");
    expect(await keyCount()).toBe(before);
  });

  it("takes application/json with parameters and +json types, and an empty body without a type", async () => {
    const created = await call(f.app, "/api/v1/keys", { method: "POST", key: f.adminKey, body, headers: { "Content-Type": "application/json; charset=utf-8" } });
    expect(created.status).toBe(201);
    const id = (created.body.apiKey as { id: string }).id;
    const patched = await call(f.app, `/api/v1/keys/${id}`, { method: "PATCH", key: f.adminKey, body: { description: "merged" }, headers: { "Content-Type": "application/merge-patch+json" } });
    expect(patched.status).toBe(200);
    const rotated = await call(f.app, `/api/v1/keys/${id}/rotate`, { method: "POST", key: f.adminKey });
    expect(rotated.status).toBe(201);
  });

  it("is documented: every operation with a body lists 415 unsupported_media_type", async () => {
    const document = (await call<{ paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, { "x-codes"?: string[] }> }>> }>(f.app, "/api/v1/openapi.json")).body;
    const withBodies = Object.values(document.paths).flatMap((item) => Object.values(item).filter((operation) => operation.requestBody));
    expect(withBodies.length).toBeGreaterThan(5);
    for (const operation of withBodies) expect(operation.responses["415"]?.["x-codes"]).toEqual(["unsupported_media_type"]);
  });
});
