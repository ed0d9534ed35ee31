import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../app/lib/ids";
import { system } from "../support/keyward";
import { call, expectProblem, setup, type Fixture } from "./support";

describe("security endpoints: bad input", () => {
  let f: Fixture;
  let resolvedId: string;
  beforeAll(async () => {
    f = await setup();
    const { key, apiKey } = await f.createKey(f.member.id);
    await f.app.keyward.keys.revoke(system, apiKey.id);
    await call(f.app, "/api/v1/me", { key });
    await f.app.keyward.securityEvents.flush();
    const { data } = await f.app.keyward.security.listAlerts(system, { status: "open" });
    resolvedId = data[0]!.id;
    await f.app.keyward.security.resolve(system, resolvedId);
  });
  afterAll(() => f.close());

  it("refuses malformed query values with 422 validation_failed naming the field", async () => {
    for (const [path, field] of [
      ["/api/v1/security-events?limit=0", "limit"],
      ["/api/v1/security-events?limit=201", "limit"],
      ["/api/v1/security-events?limit=abc", "limit"],
      ["/api/v1/security-events?kind=made_up", "kind"],
      ["/api/v1/security-events?severity=loud", "severity"],
      ["/api/v1/security-events?keyId=nope", "keyId"],
      ["/api/v1/security-events?from=yesterday", "from"],
      ["/api/v1/alerts?status=sleeping", "status"],
      ["/api/v1/alerts?limit=-1", "limit"],
    ] as const) {
      const response = await call(f.app, path, { key: f.adminKey });
      expectProblem(response, 422, "validation_failed");
      expect((response.body.errors as { field: string }[]).map((error) => error.field), path).toContain(field);
    }
  });

  it("refuses a cursor it did not issue with 422, never a 500", async () => {
    for (const cursor of ["garbage", "W10", Buffer.from('["not a date", 1]').toString("base64url")]) {
      expectProblem(await call(f.app, `/api/v1/security-events?cursor=${cursor}`, { key: f.adminKey }), 422, "validation_failed");
      expectProblem(await call(f.app, `/api/v1/alerts?cursor=${cursor}`, { key: f.adminKey }), 422, "validation_failed");
    }
  });

  it("answers 404 for an unknown or malformed alert id", async () => {
    for (const id of [newId("alr"), "alr_short", "key_00000000000000000000", "%00"]) {
      expectProblem(await call(f.app, `/api/v1/alerts/${id}/ack`, { key: f.adminKey, method: "POST" }), 404, "not_found");
      expectProblem(await call(f.app, `/api/v1/alerts/${id}/resolve`, { key: f.adminKey, method: "POST" }), 404, "not_found");
    }
  });

  it("refuses to acknowledge a resolved alert (409) and resolving it again changes nothing", async () => {
    expectProblem(await call(f.app, `/api/v1/alerts/${resolvedId}/ack`, { key: f.adminKey, method: "POST" }), 409, "invalid_state");
    const again = await call(f.app, `/api/v1/alerts/${resolvedId}/resolve`, { key: f.adminKey, method: "POST" });
    expect(again.status).toBe(200);
    expect(again.body.status).toBe("resolved");
  });

  it("answers 405 with Allow for other methods", async () => {
    const get = await call(f.app, `/api/v1/alerts/${resolvedId}/ack`, { key: f.adminKey });
    expectProblem(get, 405, "method_not_allowed");
    expect(get.headers.get("allow")).toBe("POST");
    const post = await call(f.app, "/api/v1/security-events", { key: f.adminKey, method: "POST" });
    expectProblem(post, 405, "method_not_allowed");
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });
});
