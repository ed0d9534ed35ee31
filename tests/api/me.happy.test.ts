import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system } from "../support/keyward";
import { call, setup, type Fixture } from "./support";

describe("GET /api/v1/me", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  it("describes the calling key, its owner and its effective scopes", async () => {
    const response = await call(f.app, "/api/v1/me", { key: f.memberKey });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect(response.body).toMatchObject({
      owner: { id: f.member.id, email: f.member.email, role: "member" },
      scopes: ["read", "write"],
      apiKey: { name: "member key", ownerId: f.member.id, status: "active", scopes: ["read", "write"] },
    });
    const apiKey = response.body.apiKey as Record<string, unknown>;
    for (const field of ["id", "name", "description", "start", "last4", "ownerId", "scopes", "allowedIps", "rateLimit", "status", "expiresAt", "disabledAt", "revokedAt", "createdAt", "updatedAt", "lastUsedAt", "lastUsedIp", "requestCount", "metadata", "recoverable"]) {
      expect(apiKey, field).toHaveProperty(field);
    }
    expect(apiKey).not.toHaveProperty("digest");
    expect(apiKey).not.toHaveProperty("ciphertext");
    expect(response.text).not.toContain(f.memberKey);
    expect(new Date(apiKey.createdAt as string).toISOString()).toBe(apiKey.createdAt);
  });

  it("accepts the key in X-API-Key as well as Authorization: Bearer", async () => {
    const response = await call(f.app, "/api/v1/me", { headers: { "X-API-Key": f.memberReadKey } });
    expect(response.status).toBe(200);
    expect(response.body.scopes).toEqual(["read"]);
  });

  it("expands hierarchical scopes: an admin key holds write and read too", async () => {
    const response = await call(f.app, "/api/v1/me", { key: f.adminKey });
    expect(response.body.scopes).toEqual(["read", "write", "admin"]);
  });

  it("answers HEAD like GET, without a body", async () => {
    const response = await fetch(`${f.app.url}/api/v1/me`, { method: "HEAD", headers: { Authorization: `Bearer ${f.memberKey}` } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
  });

  it("honours an inbound X-Request-Id", async () => {
    const response = await call(f.app, "/api/v1/me", { key: f.memberKey, headers: { "X-Request-Id": "trace-1234-abcd" } });
    expect(response.headers.get("x-request-id")).toBe("trace-1234-abcd");
  });

  it("shows a demoted owner's admin key without admin at once", async () => {
    const demoted = await f.app.keyward.users.create(system, { email: "demoted@example.test", password: "correct horse battery staple", role: "admin" });
    const { key } = await f.createKey(demoted.id, { scopes: ["admin"] });
    expect((await call(f.app, "/api/v1/me", { key })).body.scopes).toEqual(["read", "write", "admin"]);
    await f.app.keyward.users.setRole(system, demoted.id, "member");
    const after = await call(f.app, "/api/v1/me", { key });
    expect(after.body.scopes).toEqual(["read", "write"]);
    expect((after.body.owner as { role: string }).role).toBe("member");
  });
});
