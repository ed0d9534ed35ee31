import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../app/services/clock.server";
import { isWellFormedKey } from "../../app/lib/key-format";
import { call, expectProblem, setup, type Fixture } from "./support";

type Rotated = { key: string; apiKey: Record<string, unknown> & { id: string }; previous: Record<string, unknown> & { id: string; expiresAt: string } };

describe("POST /api/v1/keys/{id}/rotate", () => {
  const clock = new ManualClock(new Date("2026-11-25T12:00:00Z"));
  let f: Fixture;
  beforeAll(async () => {
    f = await setup({ clock });
  });
  afterAll(() => f.close());

  it("issues a new key with the same settings (201); the old one works until now + grace", async () => {
    const old = await f.createKey(f.member.id, { name: "rotating", scopes: ["read"], metadata: { env: "prod" }, allowedIps: ["127.0.0.1"], rateLimit: { requests: 10, windowSeconds: 60 } });
    const response = await call<Rotated>(f.app, `/api/v1/keys/${old.apiKey.id}/rotate`, { key: f.memberKey, method: "POST", body: { gracePeriodSeconds: 3600 } });
    expect(response.status).toBe(201);
    const { key, apiKey, previous } = response.body;
    expect(isWellFormedKey(key)).toBe(true);
    expect(apiKey).toMatchObject({ name: "rotating", scopes: ["read"], metadata: { env: "prod" }, allowedIps: ["127.0.0.1"], rateLimit: { requests: 10, windowSeconds: 60 }, rotatedFrom: old.apiKey.id, status: "active" });
    expect(apiKey.id).not.toBe(old.apiKey.id);
    expect(previous.id).toBe(old.apiKey.id);
    expect(previous.expiresAt).toBe(new Date(clock.now().getTime() + 3600_000).toISOString());

    expect((await call(f.app, "/api/v1/me", { key: old.key })).status).toBe(200);
    expect((await call(f.app, "/api/v1/me", { key })).status).toBe(200);
    clock.advance(3601_000);
    expectProblem(await call(f.app, "/api/v1/me", { key: old.key }), 401, "key_expired");
    expect((await call(f.app, "/api/v1/me", { key })).status).toBe(200);
  });

  it("defaults to no grace: the old key stops at once; an empty body is allowed", async () => {
    const old = await f.createKey(f.member.id);
    expect((await call(f.app, "/api/v1/me", { key: old.key })).status).toBe(200);
    const response = await call<Rotated>(f.app, `/api/v1/keys/${old.apiKey.id}/rotate`, { key: f.memberKey, method: "POST" });
    expect(response.status).toBe(201);
    expect(response.body.previous.expiresAt).toBe(clock.now().toISOString());
    expectProblem(await call(f.app, "/api/v1/me", { key: old.key }), 401, "key_expired");
  });
});
