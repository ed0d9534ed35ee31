import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageRecorder } from "../../app/services/usage.server";
import { createUser, system } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

let app: RunningApp;

beforeAll(async () => {
  app = await startApp({ env: { KEYWARD_MAX_TRPC_BATCH: "5" } });
});

afterAll(async () => {
  await app?.close();
});

/** A batched tRPC GET of `calls` × `me`, the way httpBatchLink sends it. */
function batch(key: string, calls: number) {
  const paths = Array.from({ length: calls }, () => "me").join(",");
  const input = encodeURIComponent(JSON.stringify(Object.fromEntries(Array.from({ length: calls }, (_, i) => [i, {}]))));
  return fetch(`${app.url}/api/trpc/${paths}?batch=1&input=${input}`, { headers: { Authorization: `Bearer ${key}` } });
}

describe("tRPC calls made with a key", () => {
  it("consume N of the key's budget for a batch of N, send RateLimit headers, then refuse with 429 and Retry-After", async () => {
    const owner = await createUser(app.keyward, "member");
    const { key, apiKey } = await app.keyward.keys.create(system, { name: "sdk", scopes: ["read"], ownerId: owner.id, rateLimit: { requests: 4, windowSeconds: 60 } });

    const first = await batch(key, 3);
    expect(first.status).toBe(200);
    expect(first.headers.get("ratelimit-limit")).toBe("4");
    expect(first.headers.get("ratelimit-remaining")).toBe("1");

    const second = await batch(key, 1);
    expect(second.status).toBe(200);
    expect(second.headers.get("ratelimit-remaining")).toBe("0");

    const refused = await batch(key, 1);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const [body] = (await refused.json()) as [{ error: { data: { keywardCode: string } } }];
    expect(body.error.data.keywardCode).toBe("rate_limited");

    await (app.keyward.usage as UsageRecorder).flush();
    const series = await app.keyward.usageReports.series(system, apiKey.id, { granularity: "minute" });
    expect(series.totals.requests).toBe(3);
    expect(series.totals.rateLimited).toBe(1);
  });

  it("refuses a batch larger than the cap before consuming anything", async () => {
    const owner = await createUser(app.keyward, "member");
    const { key } = await app.keyward.keys.create(system, { name: "big batch", scopes: ["read"], ownerId: owner.id, rateLimit: { requests: 100, windowSeconds: 60 } });
    const refused = await batch(key, 6);
    expect(refused.status).toBe(400);
    const [body] = (await refused.json()) as [{ error: { data: { keywardCode: string } } }];
    expect(body.error.data.keywardCode).toBe("batch_too_large");
    const allowed = await batch(key, 5);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("ratelimit-remaining")).toBe("95");
  });
});
