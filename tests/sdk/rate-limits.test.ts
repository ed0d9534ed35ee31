import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyward, keywardGuard, KeywardError } from "../../sdk/src/index";
import { createUser } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

/** The SDK and the server's per-key limit on tRPC: RateLimit-* headers, 429 with Retry-After. */
describe("SDK against the running app's rate limits", () => {
  let app: RunningApp;
  let member: Awaited<ReturnType<typeof createUser>>;

  beforeAll(async () => {
    app = await startApp();
    member = await createUser(app.keyward, "member");
  });
  afterAll(() => app?.close());

  /** A fresh key allowed 3 requests per 2-second window. */
  async function limitedKey(): Promise<string> {
    const { key } = await app.keyward.keys.create(member.actor, { name: "limited", scopes: ["read"], rateLimit: { requests: 3, windowSeconds: 2 } });
    return key;
  }

  it("reports a 429 as rate_limited with retryAfter, and does not retry it by default", async () => {
    const keyward = createKeyward({ baseUrl: app.url, apiKey: await limitedKey() });
    for (let i = 0; i < 3; i++) await keyward.me();
    const error = (await keyward.me().catch((e: unknown) => e)) as KeywardError;
    expect(error).toBeInstanceOf(KeywardError);
    expect(error).toMatchObject({ code: "rate_limited", status: 429 });
    expect(error.retryAfter).toBeGreaterThanOrEqual(1);
    expect(error.retryAfter).toBeLessThanOrEqual(2);
  });

  it("with retryOnRateLimit, waits out Retry-After and succeeds", async () => {
    const keyward = createKeyward({ baseUrl: app.url, apiKey: await limitedKey(), retryOnRateLimit: true });
    for (let i = 0; i < 3; i++) await keyward.me();
    const started = Date.now();
    await expect(keyward.me()).resolves.toMatchObject({ user: { id: member.id } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  }, 20_000);

  it("an issued key's own limit: verify answers RATE_LIMITED once it is spent, and the guard 429", async () => {
    const { key: root } = await app.keyward.keys.create(member.actor, { name: "verifier", scopes: ["read"] });
    const keyward = createKeyward({ baseUrl: app.url, apiKey: root });
    const api = await app.keyward.apis.create(member.actor, { name: "Metered", prefix: "metered" });
    const { key } = await app.keyward.keys.createIssued(member.actor, api.id, { rateLimit: { requests: 2, windowSeconds: 60 } });
    for (let i = 0; i < 2; i++) expect(await keyward.verify({ key, apiId: api.id })).toMatchObject({ valid: true });
    expect(await keyward.verify({ key, apiId: api.id })).toMatchObject({ valid: false, code: "RATE_LIMITED", apiId: api.id });
    const refused = await keywardGuard({ client: keyward, apiId: api.id })(new Request("https://metered.example.test/", { headers: { Authorization: `Bearer ${key}` } }));
    expect(refused).toMatchObject({ ok: false, code: "rate_limited" });
    if (!refused.ok) expect(refused.response.status).toBe(429);
  });

  it("with pacing, a burst twice the budget queues on the headers and gets no 429", async () => {
    const key = await limitedKey();
    const unpaced = await Promise.allSettled(Array.from({ length: 6 }, () => createKeyward({ baseUrl: app.url, apiKey: key }).me()));
    expect(unpaced.filter((r) => r.status === "rejected").length).toBeGreaterThan(0);

    const paced = createKeyward({ baseUrl: app.url, apiKey: await limitedKey(), pacing: true });
    const started = Date.now();
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => paced.me()));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    // 6 calls at 3 per 2-second window: the second three wait for the reset.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  }, 30_000);
});
