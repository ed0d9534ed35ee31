import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKey } from "../../app/lib/key-format";
import { ManualClock } from "../../app/services/clock.server";
import type { Keyward } from "../../app/services/keyward.server";
import { system } from "../support/keyward";
import { call, expectProblem, recordedSecurityEvents, setup, type ApiResponse, type Fixture } from "./support";
import { expectEvery } from "../support/expect";

describe("the API-key middleware", () => {
  const clock = new ManualClock(new Date("2026-11-25T12:00:00Z"));
  let f: Fixture;
  beforeAll(async () => {
    f = await setup({ clock });
  });
  afterAll(() => f.close());

  it("answers the whole 401 family with one status, one body shape and the same headers", async () => {
    const valid = generateKey();
    const revoked = await f.createKey(f.member.id);
    const disabled = await f.createKey(f.member.id);
    const expired = await f.createKey(f.member.id, { expiresInDays: 1 });
    await f.app.keyward.keys.revoke(system, revoked.apiKey.id);
    await f.app.keyward.keys.disable(system, disabled.apiKey.id);
    clock.advance(2 * 86_400_000);

    const cases: [string, Record<string, string>, string][] = [
      ["malformed", { Authorization: "Bearer not-a-key" }, "invalid_key"],
      ["wrong prefix", { Authorization: `Bearer xx_${valid.slice(3)}` }, "invalid_key"],
      ["bad checksum", { Authorization: `Bearer ${valid.slice(0, -1)}${valid.endsWith("0") ? "1" : "0"}` }, "invalid_key"],
      ["unknown", { Authorization: `Bearer ${valid}` }, "invalid_key"],
      ["not Bearer", { Authorization: `Basic ${Buffer.from("a:b").toString("base64")}` }, "invalid_key"],
      ["revoked", { Authorization: `Bearer ${revoked.key}` }, "key_revoked"],
      ["disabled", { "X-API-Key": disabled.key }, "key_disabled"],
      ["expired", { Authorization: `Bearer ${expired.key}` }, "key_expired"],
    ];
    const responses: ApiResponse[] = [];
    for (const [label, headers, code] of cases) {
      const response = await call(f.app, "/api/v1/me", { headers });
      expectProblem(response, 401, code);
      expect(Object.keys(response.body).sort(), label).toEqual(["code", "detail", "requestId", "status", "title", "type"]);
      responses.push(response);
    }
    const headerNames = (r: ApiResponse) => [...r.headers.keys()].filter((name) => !["date", "x-request-id", "content-length", "etag"].includes(name)).sort();
    for (const response of responses) {
      expect(headerNames(response)).toEqual(headerNames(responses[0]!));
      expect(response.headers.get("www-authenticate")).toBe('Bearer realm="keyward", error="invalid_token"');
    }
    // Malformed and unknown are indistinguishable, body included.
    expect(responses[0]!.body.detail).toBe(responses[3]!.body.detail);

    const missing = await call(f.app, "/api/v1/me");
    expectProblem(missing, 401, "missing_credentials");
    expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("refuses a key anywhere in the URL (400 credentials_in_url) and records it, naming a live key", async () => {
    const { key, apiKey } = await f.createKey(f.other.id);
    const urls = [
      `/api/v1/me?api_key=${key}`,
      `/api/v1/me?key=${key}`,
      `/api/v1/keys?q=${key}`,
      `/api/v1/keys?token=whatever`,
      `/api/v1/keys/${key}`,
      `/api/v1/me?${key}=1`,
      `/api/v1/openapi.json?api_key=${key}`,
      `/api/v1/no-such-thing?api_key=${key}`,
    ];
    for (const url of urls) {
      // Even with valid credentials in the header: the URL alone decides.
      expectProblem(await call(f.app, url, { key: f.memberKey }), 400, "credentials_in_url");
    }
    const events = (await recordedSecurityEvents(f.app)).filter((e) => e.kind === "credentials_in_url");
    const leaked = events.filter((e) => e.keyId === apiKey.id);
    expect(leaked.length).toBeGreaterThan(0);
    expectEvery(leaked, (e) => e.severity === "critical");
    expect(events.reduce((sum, e) => sum + e.count, 0)).toBe(urls.length);
    expect(JSON.stringify(events)).not.toContain(key);
  });

  it("records refused keys as security events, aggregated per minute per (kind, key, ip)", async () => {
    const unknown = generateKey();
    for (let i = 0; i < 3; i++) await call(f.app, "/api/v1/me", { key: unknown });
    const { key, apiKey } = await f.createKey(f.member.id);
    await f.app.keyward.keys.revoke(system, apiKey.id);
    for (let i = 0; i < 2; i++) await call(f.app, "/api/v1/me", { key });
    const events = await recordedSecurityEvents(f.app);
    const invalid = events.filter((e) => e.kind === "invalid_key" && e.keyId === null);
    expect(invalid.reduce((sum, e) => sum + e.count, 0)).toBeGreaterThanOrEqual(3);
    const revoked = events.filter((e) => e.kind === "key_revoked" && e.keyId === apiKey.id);
    expect(revoked).toHaveLength(1);
    expect(revoked[0]).toMatchObject({ count: 2, severity: "warning", clientIp: "127.0.0.1" });
    expect(revoked[0]!.occurredAt.getTime() % 60_000).toBe(0);
    // A later flush adds to the same row instead of writing another.
    await call(f.app, "/api/v1/me", { key });
    const again = (await recordedSecurityEvents(f.app)).filter((e) => e.kind === "key_revoked" && e.keyId === apiKey.id);
    expect(again).toHaveLength(1);
    expect(again[0]!.count).toBe(3);
  });

  it("scope: read < write < admin, on the key's effective scopes", async () => {
    const response = await call(f.app, "/api/v1/keys", { key: f.memberReadKey, method: "POST", body: { name: "x", scopes: ["read"] } });
    expectProblem(response, 403, "insufficient_scope");
    expect(response.body.requiredScope).toBe("write");
    const events = await recordedSecurityEvents(f.app);
    expect(events.some((e) => e.kind === "insufficient_scope")).toBe(true);
  });

  it("calls the rate-limit, failed-auth and usage seams in order, when they are provided", async () => {
    const original = { usage: f.app.keyward.usage, limiter: f.app.keyward.limiter, authFailures: f.app.keyward.authFailures };
    const usage: Parameters<NonNullable<Keyward["usage"]>["record"]>[0][] = [];
    const budget = new Map<string, number>();
    const failures = new Map<string, number>();
    f.app.keyward.usage = {
      record: (entry) => usage.push(entry),
      recordVerification: () => {
        throw new Error("This test verifies no key");
      },
    };
    f.app.keyward.limiter = {
      async consume(keyId) {
        const used = (budget.get(keyId) ?? 0) + 1;
        budget.set(keyId, used);
        // The real limiter runs on wall-clock time, so its reset is relative to Date.now(), not the test clock.
        return { allowed: used <= 2, limit: 2, remaining: 2 - used, resetAt: new Date(Date.now() + 30_000) };
      },
    };
    f.app.keyward.authFailures = {
      isBlocked(bucket) {
        return (failures.get(bucket) ?? 0) >= 2 ? { blocked: true, retryAfterSeconds: 60 } : { blocked: false, retryAfterSeconds: 0 };
      },
      recordFailure(bucket) {
        failures.set(bucket, (failures.get(bucket) ?? 0) + 1);
      },
    };
    try {
      const { key, apiKey } = await f.createKey(f.member.id);
      const first = await call(f.app, "/api/v1/me", { key });
      expect(first.status).toBe(200);
      expect(first.headers.get("ratelimit-limit")).toBe("2");
      expect(first.headers.get("ratelimit-remaining")).toBe("1");
      expect(first.headers.get("ratelimit-reset")).toBe("30");
      expect((await call(f.app, "/api/v1/me", { key })).status).toBe(200);
      const limited = await call(f.app, "/api/v1/me", { key });
      expectProblem(limited, 429, "rate_limited");
      expect(limited.headers.get("retry-after")).toBe("30");
      expect(usage.filter((u) => u.keyId === apiKey.id).map((u) => [u.status, u.accepted])).toEqual([
        [200, true],
        [200, true],
        [429, false],
      ]);
      expect(usage[0]).toMatchObject({ method: "GET", path: "/api/v1/me", clientIp: "127.0.0.1" });

      // Two failed lookups (a malformed key costs none, so counts none), then no lookup of a new key from this address…
      expectProblem(await call(f.app, "/api/v1/me", { key: generateKey() }), 401, "invalid_key");
      expectProblem(await call(f.app, "/api/v1/me", { key: "garbage" }), 401, "invalid_key");
      expectProblem(await call(f.app, "/api/v1/me", { key: generateKey() }), 401, "invalid_key");
      expect(failures.get("127.0.0.1")).toBe(2);
      const throttled = await call(f.app, "/api/v1/me", { key: generateKey() });
      expectProblem(throttled, 429, "too_many_failures");
      expect(throttled.headers.get("retry-after")).toBe("60");
      // …while a key that verifies still passes.
      expect((await call(f.app, "/api/v1/me", { key: f.memberKey })).status).toBe(200);
    } finally {
      Object.assign(f.app.keyward, original);
    }
  });
});

describe("the IP allowlist", () => {
  it("with KEYWARD_TRUST_PROXY unset, judges the socket peer and ignores X-Forwarded-For", async () => {
    const f = await setup();
    try {
      const { key: tenOnly } = await f.createKey(f.member.id, { allowedIps: ["10.0.0.0/8"] });
      const { key: loopback } = await f.createKey(f.member.id, { allowedIps: ["127.0.0.1"] });
      const { key: v6 } = await f.createKey(f.member.id, { allowedIps: ["2001:db8::/32"] });
      const forwarded = { "X-Forwarded-For": "10.1.2.3" };
      const refused = await call(f.app, "/api/v1/me", { key: tenOnly, headers: forwarded });
      expectProblem(refused, 403, "ip_not_allowed");
      expect(refused.body.detail).toContain("127.0.0.1");
      expect((await call(f.app, "/api/v1/me", { key: loopback, headers: forwarded })).status).toBe(200);
      expectProblem(await call(f.app, "/api/v1/me", { key: v6, headers: { "X-Forwarded-For": "2001:db8::1" } }), 403, "ip_not_allowed");
      const events = await recordedSecurityEvents(f.app);
      // One row per refused key, each with the socket peer's address, never the forwarded one.
      expect(events.filter((e) => e.kind === "ip_not_allowed").map((e) => e.clientIp)).toEqual(["127.0.0.1", "127.0.0.1"]);
    } finally {
      await f.close();
    }
  });

  it("with KEYWARD_TRUST_PROXY=1, judges the address the proxy appended (IPv4 and IPv6)", async () => {
    const f = await setup({ env: { KEYWARD_TRUST_PROXY: "1" } });
    try {
      const { key: tenOnly } = await f.createKey(f.member.id, { allowedIps: ["10.0.0.0/8"] });
      const { key: loopback } = await f.createKey(f.member.id, { allowedIps: ["127.0.0.1"] });
      const { key: v6 } = await f.createKey(f.member.id, { allowedIps: ["2001:db8::/32"] });
      expect((await call(f.app, "/api/v1/me", { key: tenOnly, headers: { "X-Forwarded-For": "10.1.2.3" } })).status).toBe(200);
      // A client-forged entry further left does not count.
      expectProblem(await call(f.app, "/api/v1/me", { key: tenOnly, headers: { "X-Forwarded-For": "10.1.2.3, 198.51.100.7" } }), 403, "ip_not_allowed");
      expectProblem(await call(f.app, "/api/v1/me", { key: loopback, headers: { "X-Forwarded-For": "10.1.2.3" } }), 403, "ip_not_allowed");
      expect((await call(f.app, "/api/v1/me", { key: v6, headers: { "X-Forwarded-For": "2001:DB8::1" } })).status).toBe(200);
      expectProblem(await call(f.app, "/api/v1/me", { key: v6, headers: { "X-Forwarded-For": "2001:db9::1" } }), 403, "ip_not_allowed");
    } finally {
      await f.close();
    }
  });
});
