import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectProblem, setup, type Fixture } from "./support";

type FieldErrors = { errors: { field: string; message: string }[] };

describe("/api/v1/keys errors", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup({ env: { KEYWARD_MAX_KEY_TTL_DAYS: "90" }, keyDefaults: { expiresInDays: 30 } });
  });
  afterAll(() => f.close());

  const post = (body: unknown, headers?: Record<string, string>) => call<FieldErrors>(f.app, "/api/v1/keys", { key: f.memberKey, method: "POST", body, headers });

  it("refuses limits outside 1–100 and malformed query values with 422 naming the field", async () => {
    for (const query of ["limit=0", "limit=101", "limit=-1", "limit=abc", "limit=1.5", "status=nope", "ownerId=usr_x", `q=${"x".repeat(101)}`, `cursor=${"y".repeat(201)}`, "cursor=bm90LWEtY3Vyc29y"]) {
      const response = await call<FieldErrors>(f.app, `/api/v1/keys?${query}`, { key: f.memberKey });
      expectProblem(response, 422, "validation_failed");
      expect(response.body.errors.map((e) => e.field), query).toContain(query.split("=")[0]);
    }
  });

  it("refuses text Postgres cannot store (NUL) with 422, naming the field where the schema knows it, never a 500", async () => {
    const name = await post({ name: "a\u0000b", scopes: ["read"], expiresInDays: 30 });
    expectProblem(name, 422, "validation_failed");
    expect(name.body.errors.map((e) => e.field)).toEqual(["name"]);
    expect((await post({ name: "ok", description: "x\u0000", scopes: ["read"], expiresInDays: 30 })).body.errors.map((e) => e.field)).toEqual(["description"]);
    // Metadata is free-form JSON: the database refuses it, and the API says why. (29 days: a key
    // may not mint a key that outlives it, and the calling key was given 30 days before this one.)
    const metadata = await call<{ detail: string }>(f.app, "/api/v1/keys", { key: f.memberKey, method: "POST", body: { name: "ok", scopes: ["read"], expiresInDays: 29, metadata: { "a\u0000": "b\u0000" } } });
    expectProblem(metadata, 422, "validation_failed");
    expect(metadata.body.detail).toMatch(/NUL/);
    const search = await call<FieldErrors>(f.app, "/api/v1/keys?q=%00", { key: f.memberKey });
    expectProblem(search, 422, "validation_failed");
    expect(search.body.errors.map((e) => e.field)).toEqual(["q"]);
  });

  it("lists the offending fields of an invalid body", async () => {
    const response = await post({ name: "", scopes: ["root"], allowedIps: ["10.0.0.1/8", "nope"], rateLimit: { requests: 0 } });
    expectProblem(response, 422, "validation_failed");
    const fields = response.body.errors.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(["name", "scopes.0", "allowedIps.0", "allowedIps.1", "rateLimit.requests", "rateLimit.windowSeconds"]));
  });

  it("refuses unknown fields, both expiry forms at once, and a missing body", async () => {
    expect((await post({ name: "x", scopes: ["read"], scope: "admin" })).body.errors[0]!.message).toMatch(/scope/);
    expectProblem(await post({ name: "x", scopes: ["read"], expiresInDays: 3, expiresAt: new Date(Date.now() + 1e7).toISOString() }), 422, "validation_failed");
    const empty = await post("");
    expectProblem(empty, 422, "validation_failed");
    expect(empty.body.errors.map((e) => e.field)).toEqual(expect.arrayContaining(["name", "scopes"]));
    const notAnObject = await post("[1,2]");
    expectProblem(notAnObject, 422, "validation_failed");
    expect(notAnObject.body.errors[0]!.field).toBe("body");
  });

  it("refuses an expiry in the past (422) and one beyond the policy (422 policy_violation)", async () => {
    expectProblem(await post({ name: "x", scopes: ["read"], expiresAt: "2020-01-01T00:00:00Z" }), 422, "validation_failed");
    expectProblem(await post({ name: "x", scopes: ["read"], expiresInDays: 365 }), 422, "policy_violation");
    expectProblem(await post({ name: "x", scopes: ["read"] }), 422, "policy_violation");
  });

  it("is 400 invalid_json for malformed JSON", async () => {
    for (const body of ["{", "{name: 'x'}", "nul", '{"name": "x",}', "\u0000"]) {
      expectProblem(await post(body), 400, "invalid_json");
    }
  });

  it("refuses JSON the database or a recursive walk could not take: unpaired surrogates (400), deep nesting (422)", async () => {
    // Both once reached the database or JSON.stringify and came back as 500s (found by the fuzzer).
    expectProblem(await post('{"name": "\\ud800", "scopes": ["read"]}'), 400, "invalid_json");
    expectProblem(await post('{"name": "x", "scopes": ["read"], "metadata": {"\\udc00": 1}}'), 400, "invalid_json");
    const deep = `{"name":"x","scopes":["read"],"metadata":{"a":${"[".repeat(20_000)}${"]".repeat(20_000)}}}`;
    const response = await post(deep);
    expectProblem(response, 422, "validation_failed");
    expect(response.body.errors[0]!.field).toBe("body");
    // A paired surrogate (an emoji) is fine.
    expect((await post({ name: "🔑 key", scopes: ["read"], expiresInDays: 1 })).status).toBe(201);
  });

  it("is 413 payload_too_large above 64 KiB, whether or not Content-Length says so", async () => {
    const big = JSON.stringify({ name: "x", scopes: ["read"], description: "d".repeat(70 * 1024) });
    expectProblem(await post(big), 413, "payload_too_large");
    // Chunked upload: no Content-Length to trust.
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 80; i++) controller.enqueue(new TextEncoder().encode("x".repeat(1024)));
        controller.close();
      },
    });
    const response = await fetch(`${f.app.url}/api/v1/keys`, {
      method: "POST",
      headers: { Authorization: `Bearer ${f.memberKey}`, "Content-Type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { code: string }).code).toBe("payload_too_large");
    // Just under the limit is read (and then judged on its content).
    const justUnder = JSON.stringify({ name: "x", scopes: ["read"], description: "d".repeat(60 * 1024) });
    expectProblem(await post(justUnder), 422, "validation_failed");
  });

  it("is 405 with Allow for other methods", async () => {
    for (const method of ["PUT", "PATCH", "DELETE"]) {
      const response = await call(f.app, "/api/v1/keys", { key: f.memberKey, method });
      expectProblem(response, 405, "method_not_allowed");
      expect(response.headers.get("allow")).toBe("GET, HEAD, POST");
    }
  });

  it("is 404 for an unknown owner given by an admin", async () => {
    const response = await call(f.app, "/api/v1/keys", { key: f.adminKey, method: "POST", body: { name: "x", scopes: ["read"], ownerId: "usr_00000000000000000000", expiresInDays: 1 } });
    expectProblem(response, 404, "not_found");
  });
});
