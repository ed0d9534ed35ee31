import { delay, http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createKeyward, keywardGuard, type GuardOptions, type KeywardGuard, type VerifyResult } from "../src/index";
import { BASE_URL, expectEvery, issuedKey, trpcData, trpcError, TRPC, wellFormedKey } from "./support";

type Admission = { keyId: string; ip?: string; at: string; count: number };

/** Every report of cached admissions Keyward received (the default answer; a test may answer otherwise). */
const reports: Admission[][] = [];
const server = setupServer(
  http.post(`${TRPC}/reportVerifications`, async ({ request }) => {
    const { admissions } = (await request.json()) as { admissions: Admission[] };
    reports.push(admissions);
    return trpcData({ recorded: admissions.reduce((sum, admission) => sum + admission.count, 0) });
  }),
);
/** Guards made by a test: closed after it, so no report of theirs lands in the next test. */
const guards: KeywardGuard[] = [];
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(async () => {
  await Promise.all(guards.splice(0).map((guard) => guard.close()));
  reports.length = 0;
  server.resetHandlers();
  vi.useRealTimers();
});
afterAll(() => server.close());

/** Admissions reported so far, summed. */
const reported = () => reports.flat().reduce((sum, admission) => sum + admission.count, 0);

const KEY_ID = "key_0123456789abcdefABCD";
const API_ID = "api_0123456789abcdefABCD";
const IDENTITY = { id: "idt_0123456789abcdefABCD", externalId: "customer-42", meta: { plan: "pro" } };

type ValidVerdict = Extract<VerifyResult, { code: "VALID" }>;

function valid(overrides: Partial<ValidVerdict> = {}): ValidVerdict {
  return { valid: true, code: "VALID", keyId: KEY_ID, apiId: API_ID, name: "partner", identity: IDENTITY, permissions: ["orders.read"], expiresAt: null, meta: { tier: "gold" }, credits: null, ratelimits: [], ...overrides };
}

/** A refusal of a key Keyward knows, with the key's details. */
function refused(code: "REVOKED" | "DISABLED" | "EXPIRED" | "IP_NOT_ALLOWED" | "WRONG_API" | "RATE_LIMITED" | "USAGE_EXCEEDED"): VerifyResult {
  return code === "RATE_LIMITED" ? { ...valid(), valid: false, code, ratelimit: "requests" } : { ...valid(), valid: false, code };
}

type VerifyBody = { key: string; apiId?: string; permissions?: string[] | { anyOf: string[] }; ip?: string };

/** Keyward's verify, answering `verdict()`; records each verify body. */
function verifyAnswers(verdict: (body: VerifyBody) => VerifyResult | Response) {
  const calls: VerifyBody[] = [];
  server.use(
    http.post(`${TRPC}/verify`, async ({ request }) => {
      const body = (await request.json()) as VerifyBody;
      calls.push(body);
      const answer = verdict(body);
      return answer instanceof Response ? answer : trpcData(answer);
    }),
  );
  return calls;
}

function guardWith(options: Partial<GuardOptions> = {}) {
  const client = createKeyward({ baseUrl: BASE_URL, apiKey: wellFormedKey(), retries: 0 });
  const guard = keywardGuard({ client, ...options });
  guards.push(guard);
  return guard;
}

function requestWith(headers: Record<string, string>) {
  return new Request("https://app.example.test/api/orders", { headers });
}

async function problem(response: Response) {
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  expect(response.headers.get("cache-control")).toBe("no-store");
  return (await response.json()) as { type: string; title: string; status: number; detail: string; code: string; missing?: string[] };
}

describe("reading the key", () => {
  it("refuses a request without a key with 401 missing_credentials, asking Keyward nothing", async () => {
    const calls = verifyAnswers(() => valid());
    const result = await guardWith()(requestWith({}));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.response.status).toBe(401);
    expect(result.response.headers.get("www-authenticate")).toBe('Bearer realm="api"');
    expect(await problem(result.response)).toEqual({
      type: "about:blank",
      title: "Missing credentials",
      status: 401,
      detail: "Send your API key in the Authorization header (Bearer) or in X-API-Key",
      code: "missing_credentials",
    });
    expect(calls).toHaveLength(0);
  });

  it.each([
    ["a wrong checksum", () => {
      const key = issuedKey();
      return key.slice(0, -1) + (key.endsWith("0") ? "1" : "0");
    }],
    ["a prefix that is no API's (upper case)", () => "Acme_live_" + issuedKey().slice(10)],
    ["a wrong length", () => issuedKey().slice(0, 63)],
    ["a character outside base62", () => { const key = issuedKey(); return key.slice(0, 12) + "-" + key.slice(13); }],
    ["another scheme", () => "Basic dXNlcjpwYXNz"],
    ["a root key (root keys authenticate to Keyward, they are never verified)", () => wellFormedKey()],
  ])("refuses a key with %s locally: 401 invalid_key without a call to Keyward", async (_what, make) => {
    const calls = verifyAnswers(() => valid());
    const presented = make();
    const result = await guardWith()(requestWith({ Authorization: presented.startsWith("Basic") ? presented : `Bearer ${presented}` }));
    expect(result).toMatchObject({ ok: false, code: "invalid_key" });
    if (!result.ok) expect((await problem(result.response)).status).toBe(401);
    expect(calls).toHaveLength(0);
  });

  it("sends a key of any API prefix on to Keyward: with apiId it cannot know the prefix", async () => {
    const keys = [wellFormedKey("ab"), wellFormedKey("acme"), wellFormedKey("acme_live_eu")];
    const calls = verifyAnswers(() => valid());
    const guard = guardWith({ apiId: API_ID, cacheTtlMs: 0 });
    for (const key of keys) expect(await guard(requestWith({ Authorization: `Bearer ${key}` }))).toMatchObject({ ok: true });
    expect(calls.map((c) => c.key)).toEqual(keys);
  });

  it("accepts the key as Bearer (any case) or in X-API-Key", async () => {
    const key = issuedKey();
    const calls = verifyAnswers(() => valid());
    const guard = guardWith({ cacheTtlMs: 0 });
    const variants: Record<string, string>[] = [{ Authorization: `Bearer ${key}` }, { Authorization: `bearer   ${key}` }, { "X-API-Key": key }];
    for (const headers of variants) {
      expect(await guard(requestWith(headers))).toMatchObject({ ok: true });
    }
    expect(calls.map((c) => c.key)).toEqual([key, key, key]);
  });
});

describe("verdicts", () => {
  it("passes a valid key with its principal, sending the API, the permissions and the caller's address to verify", async () => {
    const key = issuedKey();
    const calls = verifyAnswers(() => valid());
    const guard = guardWith({ apiId: API_ID, permissions: ["orders.read"], clientIp: (request) => request.headers.get("x-real-ip") });

    const result = await guard(requestWith({ Authorization: `Bearer ${key}`, "X-Real-IP": "198.51.100.4" }));

    expect(result).toEqual({
      ok: true,
      cached: false,
      principal: { keyId: KEY_ID, apiId: API_ID, name: "partner", identity: IDENTITY, permissions: ["orders.read"], expiresAt: null, meta: { tier: "gold" }, credits: null, ratelimits: [] },
    });
    expect(calls).toEqual([{ key, apiId: API_ID, permissions: ["orders.read"], ip: "198.51.100.4" }]);
  });

  it("sends an anyOf query as it is, and nothing it was not given", async () => {
    const calls = verifyAnswers(() => valid());
    const key = issuedKey();
    await guardWith({ permissions: { anyOf: ["orders.read", "orders.admin"] } })(requestWith({ Authorization: `Bearer ${key}` }));
    await guardWith()(requestWith({ Authorization: `Bearer ${key}` }));
    expect(calls).toEqual([{ key, permissions: { anyOf: ["orders.read", "orders.admin"] } }, { key }]);
  });

  it.each([
    ["INVALID", 401, "invalid_key"],
    ["WRONG_API", 401, "invalid_key"],
    ["REVOKED", 401, "key_revoked"],
    ["DISABLED", 401, "key_disabled"],
    ["EXPIRED", 401, "key_expired"],
    ["IP_NOT_ALLOWED", 403, "ip_not_allowed"],
    ["INSUFFICIENT_PERMISSIONS", 403, "insufficient_permissions"],
    ["RATE_LIMITED", 429, "rate_limited"],
    ["USAGE_EXCEEDED", 429, "usage_exceeded"],
  ] as const)("answers %s with %i %s problem+json, and does not cache it", async (verdict, status, code) => {
    const calls = verifyAnswers((): VerifyResult => {
      if (verdict === "INVALID") return { valid: false, code: "INVALID" };
      if (verdict === "INSUFFICIENT_PERMISSIONS") return { ...valid(), valid: false, code: verdict, missing: ["orders.write"] };
      return refused(verdict);
    });
    const guard = guardWith({ apiId: API_ID, permissions: ["orders.read", "orders.write"] });
    const request = () => requestWith({ Authorization: `Bearer ${key}` });
    const key = issuedKey();

    const result = await guard(request());

    expect(result).toMatchObject({ ok: false, code });
    if (result.ok) return;
    expect(result.response.status).toBe(status);
    const body = await problem(result.response);
    expect(body).toMatchObject({ type: "about:blank", status, code });
    expect(body.title).toBeTruthy();
    expect(body.detail).toBeTruthy();
    if (status === 401) expect(result.response.headers.get("www-authenticate")).toContain('error="invalid_token"');
    if (code === "insufficient_permissions") {
      expect(result.response.headers.get("www-authenticate")).toBe('Bearer realm="api", error="insufficient_scope", scope="orders.read orders.write"');
      expect(body.missing).toEqual(["orders.write"]);
    } else {
      expect(body).not.toHaveProperty("missing");
    }
    await guard(request());
    expect(calls).toHaveLength(2);
  });

  it("fails closed with 503 when Keyward cannot be reached, keeping the cause for the app's log", async () => {
    verifyAnswers(() => HttpResponse.error());
    const result = await guardWith()(requestWith({ Authorization: `Bearer ${issuedKey()}` }));
    expect(result).toMatchObject({ ok: false, code: "service_unavailable", error: { code: "network_error" } });
    if (!result.ok) expect((await problem(result.response)).status).toBe(503);
  });

  it("answers 503, not 401, when Keyward refuses the guard's own client key", async () => {
    verifyAnswers(() => trpcError("key_revoked", 401));
    const result = await guardWith()(requestWith({ Authorization: `Bearer ${issuedKey()}` }));
    expect(result).toMatchObject({ ok: false, code: "service_unavailable", error: { code: "key_revoked" } });
  });

  it("passes Retry-After on when Keyward rate-limits the guard's own client key", async () => {
    verifyAnswers(() => trpcError("rate_limited", 429, { headers: { "Retry-After": "7" } }));
    const result = await guardWith()(requestWith({ Authorization: `Bearer ${issuedKey()}` }));
    expect(result).toMatchObject({ ok: false, code: "service_unavailable" });
    if (!result.ok) expect(result.response.headers.get("retry-after")).toBe("7");
  });

  it("uses problemType for the problem's type", async () => {
    const result = await guardWith({ problemType: (code) => `https://api.example.test/problems/${code}` })(requestWith({}));
    if (!result.ok) expect((await problem(result.response)).type).toBe("https://api.example.test/problems/missing_credentials");
  });
});

describe("cache", () => {
  it("answers a key it verified within cacheTtlMs from the cache, then asks again", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const key = issuedKey();
    const calls = verifyAnswers(() => valid());
    const guard = guardWith({ cacheTtlMs: 10_000 });
    const request = () => requestWith({ Authorization: `Bearer ${key}` });

    expect(await guard(request())).toMatchObject({ ok: true, cached: false });
    vi.advanceTimersByTime(9_000);
    expect(await guard(request())).toMatchObject({ ok: true, cached: true, principal: { keyId: KEY_ID } });
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(1_500);
    expect(await guard(request())).toMatchObject({ ok: true, cached: false });
    expect(calls).toHaveLength(2);
  });

  it("never caches a key with credits: every request is a verification Keyward charges, with the guard's cost", async () => {
    const key = issuedKey();
    let remaining = 3;
    const calls = verifyAnswers(() => (remaining > 0 ? valid({ credits: { remaining: --remaining } }) : refused("USAGE_EXCEEDED")));
    const guard = guardWith({ cacheTtlMs: 10_000, cost: 1 });
    const request = () => requestWith({ Authorization: `Bearer ${key}` });

    const results = [await guard(request()), await guard(request()), await guard(request()), await guard(request())];
    expect(results.map((result) => (result.ok ? result.cached : result.code))).toEqual([false, false, false, "usage_exceeded"]);
    expect(calls).toHaveLength(4);
    expectEvery(calls, (body) => (body as { cost?: number }).cost === 1);
    expect(guard.size).toBe(0);
  });

  it("never keeps a verdict past the key's own expiry", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const key = issuedKey();
    const expiresAt = new Date(Date.now() + 2_000).toISOString();
    let verdict: VerifyResult = valid({ expiresAt });
    const calls = verifyAnswers(() => verdict);
    const guard = guardWith({ cacheTtlMs: 60_000 });
    const request = () => requestWith({ Authorization: `Bearer ${key}` });

    await guard(request());
    vi.advanceTimersByTime(2_001);
    verdict = { ...valid({ expiresAt }), valid: false, code: "EXPIRED" };
    expect(await guard(request())).toMatchObject({ ok: false, code: "key_expired" });
    expect(calls).toHaveLength(2);
  });

  it("keeps separate verdicts per caller address", async () => {
    const key = issuedKey();
    const calls = verifyAnswers(({ ip }) => (ip === "203.0.113.9" ? refused("IP_NOT_ALLOWED") : valid()));
    const guard = guardWith();
    const request = () => requestWith({ Authorization: `Bearer ${key}` });

    expect(await guard(request(), { ip: "198.51.100.1" })).toMatchObject({ ok: true });
    expect(await guard(request(), { ip: "198.51.100.1" })).toMatchObject({ ok: true, cached: true });
    expect(await guard(request(), { ip: "203.0.113.9" })).toMatchObject({ ok: false, code: "ip_not_allowed" });
    expect(calls.map((c) => c.ip)).toEqual(["198.51.100.1", "203.0.113.9"]);
  });

  it("invalidate(keyId) drops a revoked key's entries at once, e.g. on a revocation event", async () => {
    const key = issuedKey();
    let revoked = false;
    const calls = verifyAnswers(() => (revoked ? refused("REVOKED") : valid()));
    const guard = guardWith({ cacheTtlMs: 60_000 });
    const request = () => requestWith({ Authorization: `Bearer ${key}` });
    await guard(request(), { ip: "198.51.100.1" });
    await guard(request(), { ip: "198.51.100.2" });
    expect(guard.size).toBe(2);

    revoked = true;
    // Without invalidation the cache still vouches for the key: that is the window invalidate closes.
    expect(await guard(request(), { ip: "198.51.100.1" })).toMatchObject({ ok: true, cached: true });
    expect(guard.invalidate(KEY_ID)).toBe(2);
    expect(guard.invalidate("key_someOtherKeyId000000")).toBe(0);

    expect(await guard(request(), { ip: "198.51.100.1" })).toMatchObject({ ok: false, code: "key_revoked" });
    expect(calls).toHaveLength(3);
  });

  it("a refusal of a key for good drops its other cached entries too", async () => {
    const key = issuedKey();
    let revoked = false;
    verifyAnswers(() => (revoked ? refused("REVOKED") : valid()));
    const guard = guardWith({ cacheTtlMs: 60_000 });
    const request = () => requestWith({ Authorization: `Bearer ${key}` });
    await guard(request(), { ip: "198.51.100.1" });
    revoked = true;
    expect(await guard(request(), { ip: "198.51.100.2" })).toMatchObject({ ok: false, code: "key_revoked" });
    expect(await guard(request(), { ip: "198.51.100.1" })).toMatchObject({ ok: false, code: "key_revoked" });
  });

  it("invalidateApi(apiId) drops the entries of every key of that API", async () => {
    const calls = verifyAnswers(({ key }) => valid({ keyId: key === other ? "key_otherKey000000000000" : KEY_ID, apiId: key === other ? "api_someOtherApi00000000" : API_ID }));
    const guard = guardWith();
    const [mine, other] = [issuedKey(), wellFormedKey("beta")];
    await guard(requestWith({ Authorization: `Bearer ${mine}` }));
    await guard(requestWith({ Authorization: `Bearer ${other}` }));
    expect(guard.invalidateApi(API_ID)).toBe(1);
    expect(await guard(requestWith({ Authorization: `Bearer ${other}` }))).toMatchObject({ cached: true });
    expect(await guard(requestWith({ Authorization: `Bearer ${mine}` }))).toMatchObject({ cached: false });
    expect(calls).toHaveLength(3);
  });

  it("invalidateIdentity(identityId) drops the entries of every key of that identity, and of no key without one", async () => {
    const calls = verifyAnswers(({ key }) => valid({ keyId: key === other ? "key_otherKey000000000000" : KEY_ID, identity: key === other ? null : IDENTITY }));
    const guard = guardWith();
    const [mine, other] = [issuedKey(), issuedKey()];
    await guard(requestWith({ Authorization: `Bearer ${mine}` }));
    await guard(requestWith({ Authorization: `Bearer ${other}` }));
    expect(guard.invalidateIdentity(IDENTITY.id)).toBe(1);
    expect(await guard(requestWith({ Authorization: `Bearer ${other}` }))).toMatchObject({ cached: true });
    expect(await guard(requestWith({ Authorization: `Bearer ${mine}` }))).toMatchObject({ cached: false });
    expect(calls).toHaveLength(3);
  });

  it("clear() drops everything", async () => {
    const calls = verifyAnswers(() => valid());
    const guard = guardWith();
    const key = issuedKey();
    await guard(requestWith({ Authorization: `Bearer ${key}` }));
    guard.clear();
    expect(guard.size).toBe(0);
    await guard(requestWith({ Authorization: `Bearer ${key}` }));
    expect(calls).toHaveLength(2);
  });

  it("does not cache with cacheTtlMs: 0", async () => {
    const calls = verifyAnswers(() => valid());
    const guard = guardWith({ cacheTtlMs: 0 });
    const key = issuedKey();
    await guard(requestWith({ Authorization: `Bearer ${key}` }));
    expect(await guard(requestWith({ Authorization: `Bearer ${key}` }))).toMatchObject({ ok: true, cached: false });
    expect(calls).toHaveLength(2);
  });

  it("does not cache a failure to reach Keyward", async () => {
    let down = true;
    const calls = verifyAnswers(() => (down ? HttpResponse.error() : valid()));
    const guard = guardWith();
    const key = issuedKey();
    expect(await guard(requestWith({ Authorization: `Bearer ${key}` }))).toMatchObject({ ok: false, code: "service_unavailable" });
    down = false;
    expect(await guard(requestWith({ Authorization: `Bearer ${key}` }))).toMatchObject({ ok: true, cached: false });
    expect(calls).toHaveLength(2);
  });

  it("shares one verification between concurrent requests with the same unlimited key, and reports the four it stood for", async () => {
    const key = issuedKey();
    let hits = 0;
    server.use(
      http.post(`${TRPC}/verify`, async () => {
        hits++;
        await delay(50);
        return trpcData(valid());
      }),
    );
    const guard = guardWith();
    const results = await Promise.all(Array.from({ length: 5 }, () => guard(requestWith({ Authorization: `Bearer ${key}` }))));
    expectEvery(results, (r) => r.ok);
    expect(results.filter((r) => r.ok && r.cached)).toHaveLength(4);
    expect(hits).toBe(1);
    await guard.flush();
    expect(reported()).toBe(4);
  });

  it.each<[string, Partial<ValidVerdict>]>([
    ["rate limits", { ratelimits: [{ name: "requests", limit: 10, remaining: 9, resetAt: "2026-12-03T12:01:00.000Z" }] }],
    ["credits", { credits: { remaining: 5 } }],
  ])("never lets one verdict stand for another request of a key with %s, even concurrent ones", async (_what, limits) => {
    const key = issuedKey();
    let hits = 0;
    server.use(
      http.post(`${TRPC}/verify`, async () => {
        hits++;
        await delay(20);
        return trpcData(valid(limits));
      }),
    );
    const guard = guardWith({ cacheTtlMs: 60_000 });
    const request = () => requestWith({ Authorization: `Bearer ${key}` });
    const results = await Promise.all(Array.from({ length: 5 }, () => guard(request())));
    expect(results.map((r) => r.ok && r.cached)).toEqual([false, false, false, false, false]);
    expect(await guard(request())).toMatchObject({ ok: true, cached: false });
    expect(hits).toBe(6);
    expect(guard.size).toBe(0);
    await guard.flush();
    expect(reports).toEqual([]);
  });

  it("drops a key's cached entries once a verdict shows it gained a rate limit", async () => {
    const key = issuedKey();
    let limited = false;
    verifyAnswers(() => valid(limited ? { ratelimits: [{ name: "daily", limit: 100, remaining: 99, resetAt: "2026-12-04T00:00:00.000Z" }] } : {}));
    const guard = guardWith({ cacheTtlMs: 60_000 });
    await guard(requestWith({ Authorization: `Bearer ${key}` }), { ip: "198.51.100.1" });
    limited = true;
    await guard(requestWith({ Authorization: `Bearer ${key}` }), { ip: "198.51.100.2" });
    expect(guard.size).toBe(0);
  });

  it("holds at most maxCacheEntries, dropping the oldest", async () => {
    const calls = verifyAnswers(() => valid());
    const guard = guardWith({ maxCacheEntries: 2 });
    const [a, b, c] = [issuedKey(), issuedKey(), issuedKey()];
    for (const key of [a, b, c]) await guard(requestWith({ Authorization: `Bearer ${key}` }));
    expect(guard.size).toBe(2);
    expect(await guard(requestWith({ Authorization: `Bearer ${c}` }))).toMatchObject({ cached: true });
    expect(await guard(requestWith({ Authorization: `Bearer ${a}` }))).toMatchObject({ cached: false });
    expect(calls).toHaveLength(4);
  });
});

describe("reporting what the cache admits", () => {
  it("reports every request admitted from the cache within flushIntervalMs, by key and address", async () => {
    const key = issuedKey();
    const calls = verifyAnswers(() => valid());
    const guard = guardWith({ flushIntervalMs: 50 });
    const request = () => requestWith({ Authorization: `Bearer ${key}` });
    for (let i = 0; i < 7; i++) expect(await guard(request(), { ip: "198.51.100.1" })).toMatchObject({ ok: true, cached: i > 0 });
    for (let i = 0; i < 3; i++) await guard(request());
    expect(calls).toHaveLength(2);
    // Without a flush or close: the timer sends them.
    await vi.waitFor(() => expect(reported()).toBe(6 + 2), { timeout: 2_000, interval: 10 });
    const admissions = reports.flat();
    expect(new Set(admissions.map((admission) => admission.keyId))).toEqual(new Set([KEY_ID]));
    expect(admissions.filter((admission) => admission.ip === "198.51.100.1").reduce((sum, admission) => sum + admission.count, 0)).toBe(6);
    expect(admissions.filter((admission) => admission.ip === undefined).reduce((sum, admission) => sum + admission.count, 0)).toBe(2);
    for (const admission of admissions) expect(Date.parse(admission.at)).toBeGreaterThan(Date.now() - 10_000);
  });

  it("close() sends what is left at once, and nothing is reported twice", async () => {
    verifyAnswers(() => valid());
    const guard = guardWith({ flushIntervalMs: 60_000 });
    const key = issuedKey();
    for (let i = 0; i < 5; i++) await guard(requestWith({ Authorization: `Bearer ${key}` }));
    expect(reports).toEqual([]);
    await guard.close();
    expect(reported()).toBe(4);
    await guard.flush();
    expect(reports).toHaveLength(1);
  });

  it("keeps each report within Keyward's bounds: 10 000 admissions and 400 entries", async () => {
    verifyAnswers(({ key }) => valid({ keyId: `key_${key.slice(10, 30)}` }));
    const guard = guardWith({ flushIntervalMs: 60_000 });
    const keys = Array.from({ length: 401 }, () => issuedKey());
    for (const key of keys) await guard(requestWith({ Authorization: `Bearer ${key}` }));
    // 401 keys admitted once each from the cache, and one of them 9 999 times more.
    for (const key of keys) await guard(requestWith({ Authorization: `Bearer ${key}` }));
    for (let i = 0; i < 9_999; i++) await guard(requestWith({ Authorization: `Bearer ${keys[0]}` }));
    await guard.close();
    expect(reported()).toBe(401 + 9_999);
    for (const report of reports) {
      expect(report.length).toBeLessThanOrEqual(400);
      expect(report.reduce((sum, admission) => sum + admission.count, 0)).toBeLessThanOrEqual(10_000);
    }
  });

  it("sends a report again when Keyward could not take it, and gives up (telling onReportError) when Keyward refuses it", async () => {
    verifyAnswers(() => valid());
    let answer: "unavailable" | "refused" | "ok" = "unavailable";
    const attempts: number[] = [];
    server.use(
      http.post(`${TRPC}/reportVerifications`, async ({ request }) => {
        const { admissions } = (await request.json()) as { admissions: Admission[] };
        const count = admissions.reduce((sum, admission) => sum + admission.count, 0);
        attempts.push(count);
        if (answer === "unavailable") return trpcError("service_unavailable", 503);
        if (answer === "refused") return trpcError("not_found", 404);
        reports.push(admissions);
        return trpcData({ recorded: count });
      }),
    );
    const errors: [string, number][] = [];
    const guard = guardWith({ flushIntervalMs: 60_000, onReportError: (error, admissions) => errors.push([error.code, admissions]) });
    const key = issuedKey();
    for (let i = 0; i < 4; i++) await guard(requestWith({ Authorization: `Bearer ${key}` }));
    await guard.flush();
    expect(attempts).toEqual([3]);
    answer = "ok";
    await guard(requestWith({ Authorization: `Bearer ${key}` }));
    await guard.flush();
    expect(attempts).toEqual([3, 4]);
    expect(reported()).toBe(4);

    answer = "refused";
    await guard(requestWith({ Authorization: `Bearer ${key}` }));
    await guard.flush();
    expect(errors).toEqual([["not_found", 1]]);
    await guard.flush();
    expect(attempts).toEqual([3, 4, 1]);
    expect(errors).toEqual([["not_found", 1]]);
  });
});
