import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWellFormedKey } from "../../app/lib/key-format";
import { call, setup, type Fixture } from "./support";
import { expectEvery } from "../support/expect";

type Page = { data: { id: string; ownerId: string; name: string; status: string }[]; nextCursor: string | null };

describe("/api/v1/keys", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  it("POST creates a key and returns its plaintext once, with 201", async () => {
    const response = await call<{ key: string; apiKey: Record<string, unknown> }>(f.app, "/api/v1/keys", {
      key: f.memberKey,
      method: "POST",
      body: {
        name: "billing service",
        description: "prod",
        scopes: ["read"],
        expiresInDays: 30,
        allowedIps: ["10.0.0.0/8", "2001:db8::1", "127.0.0.1"],
        rateLimit: { requests: 100, windowSeconds: 60 },
        metadata: { team: "billing" },
        recoverable: true,
      },
    });
    expect(response.status).toBe(201);
    expect(isWellFormedKey(response.body.key)).toBe(true);
    expect(response.body.apiKey).toMatchObject({
      name: "billing service",
      description: "prod",
      ownerId: f.member.id,
      scopes: ["read"],
      allowedIps: ["10.0.0.0/8", "2001:db8::1", "127.0.0.1"],
      rateLimit: { requests: 100, windowSeconds: 60 },
      metadata: { team: "billing" },
      recoverable: true,
      status: "active",
      start: response.body.key.slice(0, 7),
      last4: response.body.key.slice(-4),
    });
    // The new key works, and the plaintext is never shown again.
    const me = await call(f.app, "/api/v1/me", { key: response.body.key });
    expect(me.status).toBe(200);
    const listed = await call(f.app, "/api/v1/keys", { key: f.memberKey });
    expect(listed.text).not.toContain(response.body.key);
  });

  it("POST accepts an absolute expiresAt, and an admin may create a key for another user", async () => {
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const response = await call<{ apiKey: { ownerId: string; expiresAt: string } }>(f.app, "/api/v1/keys", {
      key: f.adminKey,
      method: "POST",
      body: { name: "for member", scopes: ["read", "write"], ownerId: f.member.id, expiresAt },
    });
    expect(response.status).toBe(201);
    expect(response.body.apiKey.ownerId).toBe(f.member.id);
    expect(response.body.apiKey.expiresAt).toBe(expiresAt);
  });

  it("GET lists only the caller's own keys to a member, everyone's to an admin", async () => {
    const mine = await call<Page>(f.app, "/api/v1/keys?limit=100", { key: f.memberKey });
    expect(mine.status).toBe(200);
    expect(mine.body.data.length).toBeGreaterThan(0);
    expect(new Set(mine.body.data.map((k) => k.ownerId))).toEqual(new Set([f.member.id]));

    const all = await call<Page>(f.app, "/api/v1/keys?limit=100", { key: f.adminKey });
    expect(new Set(all.body.data.map((k) => k.ownerId))).toEqual(new Set([f.admin.id, f.member.id, f.other.id]));

    const filtered = await call<Page>(f.app, `/api/v1/keys?ownerId=${f.other.id}`, { key: f.adminKey });
    expectEvery(filtered.body.data, (k) => k.ownerId === f.other.id);
    expect(filtered.body.data.length).toBeGreaterThan(0);
  });

  it("GET pages with a cursor, newest first, without gaps or repeats", async () => {
    for (let i = 0; i < 5; i++) await f.createKey(f.other.id, { name: `page-${i}` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const page: { body: Page } = await call<Page>(f.app, `/api/v1/keys?limit=2${query}`, { key: f.otherKey });
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((k) => k.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    const everything = await call<Page>(f.app, "/api/v1/keys?limit=100", { key: f.otherKey });
    expect(seen).toEqual(everything.body.data.map((k) => k.id));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(6);
  });

  it("GET filters by status and by name", async () => {
    const { apiKey } = await f.createKey(f.other.id, { name: "to-be-revoked" });
    await call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.otherKey, method: "DELETE" });
    const revoked = await call<Page>(f.app, "/api/v1/keys?status=revoked", { key: f.otherKey });
    expect(revoked.body.data.map((k) => k.id)).toEqual([apiKey.id]);
    const active = await call<Page>(f.app, "/api/v1/keys?status=active&limit=100", { key: f.otherKey });
    expectEvery(active.body.data, (k) => k.status === "active");
    const byName = await call<Page>(f.app, "/api/v1/keys?q=page-3", { key: f.otherKey });
    expect(byName.body.data.map((k) => k.name)).toEqual(["page-3"]);
  });

  it("GET applies the default limit of 20 and accepts the bounds 1 and 100", async () => {
    for (let i = 0; i < 21; i++) await f.createKey(f.admin.id, { name: `bulk-${i}` });
    expect((await call<Page>(f.app, "/api/v1/keys", { key: f.adminKey })).body.data).toHaveLength(20);
    expect((await call<Page>(f.app, "/api/v1/keys?limit=1", { key: f.adminKey })).body.data).toHaveLength(1);
    const hundred = await call<Page>(f.app, "/api/v1/keys?limit=100", { key: f.adminKey });
    expect(hundred.status).toBe(200);
    expect(hundred.body.data.length).toBeGreaterThan(20);
  });
});
