import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageRecorder } from "../../app/services/usage.server";
import { createUser, system, TEST_PASSWORD } from "../support/keyward";
import { login, startApp, type RunningApp } from "../support/server";

let app: RunningApp;

beforeAll(async () => {
  app = await startApp({ env: { KEYWARD_MAX_TRPC_BATCH: "5" } });
});

afterAll(async () => {
  await app?.close();
});

/** A batched tRPC GET of `calls` × `me`, the way httpBatchLink sends it, with a key or a session cookie. */
function batch(key: string, calls: number, credentials: "key" | "cookie" = "key") {
  const paths = Array.from({ length: calls }, () => "me").join(",");
  const input = encodeURIComponent(JSON.stringify(Object.fromEntries(Array.from({ length: calls }, (_, i) => [i, {}]))));
  const headers: Record<string, string> = credentials === "key" ? { Authorization: `Bearer ${key}` } : { Cookie: key };
  return fetch(`${app.url}/api/trpc/${paths}?batch=1&input=${input}`, { headers });
}

type TrpcError = { error: { data: { keywardCode: string; httpStatus: number } } };
const keywardCodes = async (response: Response) => ((await response.json()) as TrpcError[]).map((entry) => entry.error.data.keywardCode);

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

describe("tRPC limits for every caller, session or key", () => {
  it("caps a session's batch like a key's", async () => {
    const user = await createUser(app.keyward, "member");
    const cookie = await login(app, user.email, TEST_PASSWORD);
    const refused = await batch(cookie, 6, "cookie");
    expect(refused.status).toBe(400);
    expect(await keywardCodes(refused)).toEqual(Array(6).fill("batch_too_large"));
    expect((await batch(cookie, 5, "cookie")).status).toBe(200);
  });

  it("refuses a body declared over 64 KiB with 413 payload_too_large, with a session or a key", async () => {
    const user = await createUser(app.keyward, "member");
    const cookie = await login(app, user.email, TEST_PASSWORD);
    const { key } = await app.keyward.keys.create(system, { name: "sdk", scopes: ["read"], ownerId: user.id });
    const big = JSON.stringify({ name: "x", scopes: ["read"], description: "d".repeat(70 * 1024) });
    const asSession = await fetch(`${app.url}/api/trpc/keys.create`, {
      method: "POST",
      headers: { Cookie: cookie, Origin: app.url, "Content-Type": "application/json" },
      body: big,
    });
    expect(asSession.status).toBe(413);
    expect(((await asSession.json()) as TrpcError).error.data.keywardCode).toBe("payload_too_large");
    const asKey = await fetch(`${app.url}/api/trpc/verify`, { method: "POST", headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" }, body: big });
    expect(asKey.status).toBe(413);
    expect(((await asKey.json()) as TrpcError).error.data.keywardCode).toBe("payload_too_large");
    // Just under the cap is read, and judged on its content.
    const justUnder = JSON.stringify({ name: "x", scopes: ["read"], description: "d".repeat(60 * 1024) });
    const read = await fetch(`${app.url}/api/trpc/keys.create`, { method: "POST", headers: { Cookie: cookie, Origin: app.url, "Content-Type": "application/json" }, body: justUnder });
    expect(read.status).toBe(400);
    expect(((await read.json()) as TrpcError).error.data.keywardCode).toBe("validation_failed");
  });

  it("stops reading a streamed 64 MB body at the cap instead of parsing it", async () => {
    const user = await createUser(app.keyward, "member");
    const cookie = await login(app, user.email, TEST_PASSWORD);
    const total = 64 * 1024 * 1024;
    const chunk = new TextEncoder().encode("[".repeat(64 * 1024));
    let sent = 0;
    // Pulled only as the connection takes it: what was sent bounds what the server read.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= total) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const response = await fetch(`${app.url}/api/trpc/keys.create`, {
      method: "POST",
      headers: { Cookie: cookie, Origin: app.url, "Content-Type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(response.headers.get("connection")).toBe("close");
    expect(((await response.json()) as TrpcError).error.data.keywardCode).toBe("payload_too_large");
    expect(sent).toBeLessThan(total / 4);
  });
});
