import { delay, http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createKeyward, KeywardError, type KeywardOptions } from "../src/index";
import { backoffDelay } from "../src/transport";
import { BASE_URL, trpcData, trpcError, TRPC, wellFormedKey } from "./support";

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const ME = { user: { id: "usr_0123456789abcdefABCD", email: "a@example.test", role: "member" }, keyId: null, scopes: ["read"] };
const FAST = { initialMs: 10, maxMs: 40 };

function client(options: Partial<KeywardOptions> = {}) {
  return createKeyward({ baseUrl: BASE_URL, apiKey: wellFormedKey(), backoff: FAST, ...options });
}

/** Answers the n-th request (0-based) with answers[n] (the last one repeats), recording when each arrived. */
function sequence(...answers: (() => Response | Promise<Response>)[]) {
  const arrivals: number[] = [];
  server.use(
    http.all(`${TRPC}/*`, () => {
      arrivals.push(performance.now());
      return answers[Math.min(arrivals.length - 1, answers.length - 1)]!();
    }),
  );
  return arrivals;
}

const ok = () => trpcData(ME);
const networkError = () => HttpResponse.error();

describe("backoff", () => {
  it("doubles per attempt up to maxMs, with half of each delay random", () => {
    const options = { initialMs: 100, maxMs: 1_000 };
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, options, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, options, () => 1))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(backoffDelay(2, options, () => 0.5)).toBe(300);
  });

  it("waits longer before each further retry", async () => {
    const arrivals = sequence(() => trpcError("service_unavailable", 503), () => trpcError("service_unavailable", 503), () => trpcError("service_unavailable", 503), ok);
    await client({ retries: 3, backoff: { initialMs: 40, maxMs: 1_000 } }).me();
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
    expect(gaps).toHaveLength(3);
    // Equal jitter: retry n waits between 40·2ⁿ/2 and 40·2ⁿ ms.
    expect(gaps[0]).toBeGreaterThanOrEqual(19);
    expect(gaps[1]).toBeGreaterThanOrEqual(39);
    expect(gaps[2]).toBeGreaterThanOrEqual(79);
  });
});

describe("what is retried", () => {
  it("retries a query after network errors and returns the answer that finally arrives", async () => {
    const arrivals = sequence(networkError, networkError, ok);
    await expect(client({ retries: 2 }).me()).resolves.toEqual(ME);
    expect(arrivals).toHaveLength(3);
  });

  it("gives up after 1 + retries attempts with the last error", async () => {
    const arrivals = sequence(networkError);
    await expect(client({ retries: 2 }).keys.list({})).rejects.toMatchObject({ code: "network_error", status: 0 });
    expect(arrivals).toHaveLength(3);
  });

  it.each([500, 502, 503, 504])("retries Keyward's HTTP %i, for queries and mutations alike", async (status) => {
    const failure = () => trpcError(status === 503 ? "service_unavailable" : "internal_error", status);
    const queryArrivals = sequence(failure, ok);
    await expect(client().keys.list({})).resolves.toEqual(ME);
    expect(queryArrivals).toHaveLength(2);

    const mutationArrivals = sequence(failure, failure, () => trpcData({ key: "kw_x", apiKey: {} }));
    await expect(client().keys.create({ name: "n", scopes: ["read"] })).resolves.toMatchObject({ key: "kw_x" });
    expect(mutationArrivals).toHaveLength(3);
  });

  it("does not retry a mutation whose 5xx came from a proxy, not Keyward: the change may have gone through", async () => {
    const arrivals = sequence(() => new HttpResponse("gateway timeout", { status: 504, headers: { "Content-Type": "text/html" } }), () => trpcData({}));
    await expect(client({ retries: 3 }).keys.revoke({ id: "key_0123456789abcdefABCD" })).rejects.toMatchObject({ code: "invalid_response", status: 504 });
    expect(arrivals).toHaveLength(1);
  });

  it("retries a 5xx page that is not JSON, and reports it when retries run out", async () => {
    const page = () => new HttpResponse("upstream down", { status: 502, headers: { "Content-Type": "text/plain" } });
    const arrivals = sequence(page);
    await expect(client({ retries: 1 }).me()).rejects.toMatchObject({ code: "invalid_response", status: 502 });
    expect(arrivals).toHaveLength(2);
  });

  it.each([
    ["validation_failed", 400],
    ["unauthorized", 401],
    ["key_revoked", 401],
    ["insufficient_scope", 403],
    ["not_found", 404],
    ["invalid_state", 409],
    ["policy_violation", 422],
  ] as const)("never retries %s (HTTP %i)", async (code, status) => {
    const arrivals = sequence(() => trpcError(code, status), ok);
    await expect(client({ retries: 5 }).keys.get({ id: "key_0123456789abcdefABCD" })).rejects.toMatchObject({ code, status });
    expect(arrivals).toHaveLength(1);
  });

  it("does not retry a mutation whose answer was lost: it may have happened", async () => {
    const arrivals = sequence(networkError, () => trpcData({}));
    await expect(client({ retries: 3 }).keys.revoke({ id: "key_0123456789abcdefABCD" })).rejects.toMatchObject({ code: "network_error" });
    expect(arrivals).toHaveLength(1);
  });

  it.each([
    ["keys.create", (c: ReturnType<typeof client>) => c.keys.create({ name: "n", scopes: ["read"] })],
    ["keys.rotate", (c: ReturnType<typeof client>) => c.keys.rotate({ id: "key_0123456789abcdefABCD" })],
  ] as const)("retries %s after a lost answer, with the same Idempotency-Key each time", async (_name, run) => {
    const keys: (string | null)[] = [];
    const answers = [networkError, () => new HttpResponse("gateway timeout", { status: 504, headers: { "Content-Type": "text/html" } }), () => trpcData({ key: "kw_x", apiKey: {} })];
    server.use(
      http.all(`${TRPC}/*`, ({ request }) => {
        keys.push(request.headers.get("idempotency-key"));
        return answers[Math.min(keys.length - 1, answers.length - 1)]!();
      }),
    );
    await expect(run(client({ retries: 3 }))).resolves.toMatchObject({ key: "kw_x" });
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(keys).size).toBe(1);
  });

  it("sends a new Idempotency-Key per call, or the caller's own; waits out idempotency_key_in_use", async () => {
    const keys: (string | null)[] = [];
    let inUse = 2;
    server.use(
      http.all(`${TRPC}/*`, ({ request }) => {
        keys.push(request.headers.get("idempotency-key"));
        if (request.headers.get("idempotency-key") === "job-42" && inUse-- > 0) return trpcError("idempotency_key_in_use", 409);
        return trpcData({ key: "kw_x", apiKey: {} });
      }),
    );
    const c = client({ retries: 0 });
    await c.keys.create({ name: "a", scopes: ["read"] });
    await c.keys.create({ name: "a", scopes: ["read"] });
    expect(keys[0]).not.toBe(keys[1]);
    await expect(c.keys.create({ name: "a", scopes: ["read"] }, { idempotencyKey: "job-42" })).resolves.toMatchObject({ key: "kw_x" });
    expect(keys.slice(2)).toEqual(["job-42", "job-42", "job-42"]);
    // Other mutations carry none.
    await c.keys.revoke({ id: "key_0123456789abcdefABCD" });
    expect(keys.at(-1)).toBeNull();
  });

  it("retries verify after a network error: asking again changes nothing", async () => {
    const arrivals = sequence(networkError, () => trpcData({ valid: false, code: "INVALID" }));
    await expect(client().verify({ key: wellFormedKey() })).resolves.toEqual({ valid: false, code: "INVALID" });
    expect(arrivals).toHaveLength(2);
  });

  it("makes exactly one attempt with retries: 0", async () => {
    const arrivals = sequence(() => trpcError("service_unavailable", 503), ok);
    await expect(client({ retries: 0 }).me()).rejects.toMatchObject({ code: "service_unavailable", status: 503 });
    expect(arrivals).toHaveLength(1);
  });
});

describe("429 and Retry-After", () => {
  const limited = (retryAfter: string) => () => trpcError("rate_limited", 429, { headers: { "Retry-After": retryAfter } });

  it("does not retry a 429 unless retryOnRateLimit is set", async () => {
    const arrivals = sequence(limited("1"), ok);
    await expect(client({ retries: 3 }).me()).rejects.toMatchObject({ code: "rate_limited", status: 429, retryAfter: 1 });
    expect(arrivals).toHaveLength(1);
  });

  it("with retryOnRateLimit, waits for Retry-After and tries again", async () => {
    const arrivals = sequence(limited("1"), ok);
    await expect(client({ retryOnRateLimit: true }).me()).resolves.toEqual(ME);
    expect(arrivals).toHaveLength(2);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(990);
  });

  it("with retryOnRateLimit, throws at once when Retry-After is longer than maxWaitMs", async () => {
    const arrivals = sequence(limited("120"), ok);
    const started = performance.now();
    await expect(client({ retryOnRateLimit: { maxWaitMs: 5_000 } }).me()).rejects.toMatchObject({ code: "rate_limited", retryAfter: 120 });
    expect(arrivals).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("with retryOnRateLimit, counts 429 retries against retries", async () => {
    const arrivals = sequence(limited("0"));
    await expect(client({ retryOnRateLimit: true, retries: 2 }).me()).rejects.toMatchObject({ code: "rate_limited" });
    expect(arrivals).toHaveLength(3);
  });
});

describe("timeout and abort", () => {
  it("fails an attempt that gets no answer within timeoutMs with code timeout", async () => {
    sequence(async () => {
      await delay(2_000);
      return trpcData(ME);
    });
    const started = performance.now();
    const error = (await client({ timeoutMs: 100, retries: 0 }).me().catch((e: unknown) => e)) as KeywardError;
    expect(error).toBeInstanceOf(KeywardError);
    expect(error).toMatchObject({ code: "timeout", status: 0 });
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it("times out a server that sends headers and then stalls the body", async () => {
    sequence(
      () =>
        new HttpResponse(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"result":'));
            },
          }),
          { headers: { "Content-Type": "application/json" } },
        ),
    );
    await expect(client({ timeoutMs: 150, retries: 0 }).me()).rejects.toMatchObject({ code: "timeout" });
  });

  it("retries a timed-out query, and the next attempt gets its own timeout", async () => {
    const arrivals = sequence(async () => {
      await delay(2_000);
      return trpcData(ME);
    }, ok);
    await expect(client({ timeoutMs: 150, retries: 1 }).me()).resolves.toEqual(ME);
    expect(arrivals).toHaveLength(2);
  });

  it("does not retry a timed-out mutation", async () => {
    const arrivals = sequence(async () => {
      await delay(2_000);
      return trpcData({});
    });
    await expect(client({ timeoutMs: 100, retries: 3 }).keys.revoke({ id: "key_0123456789abcdefABCD" })).rejects.toMatchObject({ code: "timeout" });
    expect(arrivals).toHaveLength(1);
  });

  it("stops at once, without retrying, when the caller aborts", async () => {
    const arrivals = sequence(async () => {
      await delay(2_000);
      return trpcData(ME);
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    await expect(client({ retries: 3 }).me(undefined, { signal: controller.signal })).rejects.toMatchObject({ code: "aborted", status: 0 });
    expect(arrivals).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it("stops waiting between retries when the caller aborts", async () => {
    const arrivals = sequence(() => trpcError("service_unavailable", 503));
    const controller = new AbortController();
    const pending = client({ retries: 3, backoff: { initialMs: 5_000, maxMs: 5_000 } }).me(undefined, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toMatchObject({ code: "aborted" });
    expect(arrivals).toHaveLength(1);
  });
});
