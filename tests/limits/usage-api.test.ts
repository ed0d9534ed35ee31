import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageRecorder } from "../../app/services/usage.server";
import { createUser, system } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";
import { expectEvery } from "../support/expect";

let app: RunningApp;

beforeAll(async () => {
  app = await startApp();
});

afterAll(async () => {
  await app?.close();
});

const get = (path: string, key: string) => fetch(`${app.url}${path}`, { headers: { Authorization: `Bearer ${key}`, "User-Agent": "usage-test" } });

describe("usage reads over REST and tRPC", () => {
  it("counts every request of a key, to the unit, and lists them in the request log", async () => {
    const owner = await createUser(app.keyward, "member");
    const { key, apiKey } = await app.keyward.keys.create(system, { name: "counted", scopes: ["read"], ownerId: owner.id });
    for (let i = 0; i < 5; i++) expect((await get("/api/v1/me", key)).status).toBe(200);
    // A read key asking for the admin summary: a denial caused by this key.
    expect((await get("/api/v1/usage/summary", key)).status).toBe(403);
    await (app.keyward.usage as UsageRecorder).flush();

    const usage = await get(`/api/v1/keys/${apiKey.id}/usage?granularity=minute`, key);
    expect(usage.status).toBe(200);
    const body = (await usage.json()) as { keyId: string; totals: Record<string, number>; points: unknown[]; lastUsedIp: string | null };
    expect(body.keyId).toBe(apiKey.id);
    // The usage read itself is counted only at the next flush.
    expect(body.totals).toMatchObject({ requests: 6, success: 5, denied: 1, rateLimited: 0, errors: 0 });
    expect(body.lastUsedIp).toBe("127.0.0.1");

    const log = await get(`/api/v1/keys/${apiKey.id}/requests?limit=3`, key);
    expect(log.status).toBe(200);
    const page = (await log.json()) as { data: { path: string; status: number; userAgent: string }[]; nextCursor: string | null };
    expect(page.data).toHaveLength(3);
    expect(page.nextCursor).not.toBeNull();
    expectEvery(page.data, (row) => row.userAgent === "usage-test");
  });

  it("keeps usage private: another member's key is 404, the summary needs admin, and over-long minute ranges are 422", async () => {
    const alice = await createUser(app.keyward, "member");
    const bob = await createUser(app.keyward, "member");
    const { apiKey: alicesKey } = await app.keyward.keys.create(system, { name: "alice", scopes: ["read"], ownerId: alice.id });
    const { key: bobsKey } = await app.keyward.keys.create(system, { name: "bob", scopes: ["read"], ownerId: bob.id });
    expect((await get(`/api/v1/keys/${alicesKey.id}/usage`, bobsKey)).status).toBe(404);
    expect((await get(`/api/v1/keys/${alicesKey.id}/requests`, bobsKey)).status).toBe(404);

    const from = new Date(Date.now() - 91 * 86_400_000).toISOString();
    const tooLong = await get(`/api/v1/keys/${alicesKey.id}/usage?granularity=minute&from=${encodeURIComponent(from)}`, (await app.keyward.keys.create(system, { name: "a2", scopes: ["read"], ownerId: alice.id })).key);
    expect(tooLong.status).toBe(422);
    expect(((await tooLong.json()) as { code: string }).code).toBe("validation_failed");

    const admin = await createUser(app.keyward, "admin");
    const { key: adminKey } = await app.keyward.keys.create(system, { name: "ops", scopes: ["admin"], ownerId: admin.id });
    const summary = await get("/api/v1/usage/summary", adminKey);
    expect(summary.status).toBe(200);
    expect(await summary.json()).toHaveProperty("topKeys");
  });

  it("answers the same reads through tRPC", async () => {
    const owner = await createUser(app.keyward, "member");
    const { key, apiKey } = await app.keyward.keys.create(system, { name: "trpc", scopes: ["read"], ownerId: owner.id });
    const input = encodeURIComponent(JSON.stringify({ id: apiKey.id, granularity: "hour" }));
    const response = await get(`/api/trpc/usage.series?input=${input}`, key);
    expect(response.status).toBe(200);
    const { result } = (await response.json()) as { result: { data: { keyId: string; granularity: string } } };
    expect(result.data).toMatchObject({ keyId: apiKey.id, granularity: "hour" });
  });
});
