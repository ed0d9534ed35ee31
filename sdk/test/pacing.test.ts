import { delay, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createKeyward, type KeywardOptions } from "../src/index";
import { BASE_URL, expectEvery, trpcData, trpcError, TRPC, wellFormedKey } from "./support";

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const ME = { user: { id: "usr_0123456789abcdefABCD", email: "a@example.test", role: "member" }, keyId: null, scopes: ["read"] };

/**
 * A server with Keyward's per-key limit: `budget` requests per fixed window of one second that
 * starts with the window's first request, `RateLimit-*` headers on every answer, 429 over budget.
 */
function rateLimitedServer(budget: number, options: { headers?: boolean; latencyMs?: number } = {}) {
  const stats = { accepted: 0, rejected: 0, inFlight: 0, maxInFlight: 0, arrivals: [] as number[] };
  let windowEndsAt = 0;
  let used = 0;
  server.use(
    http.all(`${TRPC}/*`, async () => {
      const now = Date.now();
      stats.arrivals.push(now);
      if (now >= windowEndsAt) {
        windowEndsAt = now + 1_000;
        used = 0;
      }
      used++;
      const overBudget = used > budget;
      const reset = String(Math.ceil((windowEndsAt - now) / 1000));
      const headers: Record<string, string> =
        options.headers === false ? {} : { "RateLimit-Limit": String(budget), "RateLimit-Remaining": String(Math.max(budget - used, 0)), "RateLimit-Reset": reset };
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      await delay(options.latencyMs ?? 20);
      stats.inFlight--;
      if (overBudget) {
        stats.rejected++;
        return trpcError("rate_limited", 429, { headers: { ...headers, "Retry-After": reset } });
      }
      stats.accepted++;
      return trpcData(ME, { headers });
    }),
  );
  return stats;
}

function client(options: Partial<KeywardOptions> = {}) {
  return createKeyward({ baseUrl: BASE_URL, apiKey: wellFormedKey(), retries: 0, ...options });
}

describe("client-side pacing", () => {
  it("without pacing, a burst over the budget collects 429s (the problem pacing solves)", async () => {
    const stats = rateLimitedServer(3);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => client().me()));
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(5);
    expect(stats.rejected).toBe(5);
  });

  it("with pacing, a burst over the budget queues until the window resets: no 429 at all", async () => {
    const stats = rateLimitedServer(3);
    const keyward = client({ pacing: true });
    const started = Date.now();

    const results = await Promise.all(Array.from({ length: 8 }, () => keyward.me()));

    expect(results).toHaveLength(8);
    expect(stats.rejected).toBe(0);
    expect(stats.accepted).toBe(8);
    // 8 requests at 3 per window need three windows: the last starts ≥ 2 s after the first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    for (const at of stats.arrivals) {
      expect(stats.arrivals.filter((other) => other >= at && other < at + 1_000).length).toBeLessThanOrEqual(3);
    }
  }, 15_000);

  it("once the budget is known, a burst larger than what is left goes partly straight out and queues the rest", async () => {
    const stats = rateLimitedServer(4);
    const keyward = client({ pacing: true });
    await keyward.me();
    const started = Date.now();
    await Promise.all(Array.from({ length: 6 }, () => keyward.me()));
    expect(stats).toMatchObject({ accepted: 7, rejected: 0 });
    // Three were left in the first window: they went at once, the other three after its reset.
    expect(stats.arrivals.filter((at) => at >= started && at - started < 500)).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  }, 15_000);

  it("sends one request first and lets the rest follow once the budget is known", async () => {
    const stats = rateLimitedServer(100, { latencyMs: 150 });
    const keyward = client({ pacing: true });
    await Promise.all(Array.from({ length: 6 }, () => keyward.me()));
    const [first, ...rest] = stats.arrivals;
    expectEvery(rest, (at) => at >= first! + 140);
    // Once the budget is known the rest go together, not one at a time.
    expect(stats.maxInFlight).toBeGreaterThan(1);
  });

  it("holds nothing back when the server sends no RateLimit headers", async () => {
    const stats = rateLimitedServer(1_000, { headers: false, latencyMs: 250 });
    const keyward = client({ pacing: true });
    await keyward.me();
    await Promise.all(Array.from({ length: 5 }, () => keyward.me()));
    expect(stats.maxInFlight).toBe(5);
  });

  it("once the budget is spent, the next call waits for RateLimit-Reset instead of asking", async () => {
    const stats = rateLimitedServer(2);
    const keyward = client({ pacing: true });
    await keyward.me();
    await keyward.me();
    const started = Date.now();
    await keyward.me();
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(stats).toMatchObject({ accepted: 3, rejected: 0 });
  }, 15_000);

  it("keeps at most maxConcurrent requests in flight", async () => {
    const stats = rateLimitedServer(1_000, { latencyMs: 40 });
    const keyward = client({ pacing: { maxConcurrent: 2 } });
    await Promise.all(Array.from({ length: 8 }, () => keyward.me()));
    expect(stats.maxInFlight).toBe(2);
    expect(stats.accepted).toBe(8);
  });
});
