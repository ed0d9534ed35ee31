import http from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EARLIEST_INSTANT, isWithinDateRange, LATEST_INSTANT } from "../../app/lib/dates";
import { BASE62, generateKey } from "../../app/lib/key-format";
import type { ApiKeyView } from "../../app/services/keys.server";
import { system } from "../support/keyward";
import { call, keyState, setup, type Fixture } from "./support";

/**
 * Property-based fuzzing of every request body, the auth headers, the query, dates in cursors and
 * filters, and the path (also spelled with dot-segments and escapes): whatever a client sends, never
 * a 500, and never a change to a key the request had no right to change. Each property runs a fixed
 * number of cases, so a run cannot pass by stopping early.
 */
describe("fuzzing the REST API", () => {
  let f: Fixture;
  /** Another owner's key: no request below may change it. */
  let victim: ApiKeyView;
  /** The member's own key, targeted with the member's read-only key: no request below may change it either. */
  let ownTarget: ApiKeyView;
  const counts = async () => {
    const all = (await f.app.keyward.keys.list(system, { limit: 100 })).data;
    return { other: all.filter((k) => k.ownerId === f.other.id).length, admin: all.filter((k) => k.ownerId === f.admin.id).length };
  };
  let before: { other: number; admin: number };

  beforeAll(async () => {
    // Budgets the fuzzing cannot exhaust, and no failed-auth throttle (tested on its own): otherwise
    // most requests after the first few dozen would be 429s and never reach the handlers.
    f = await setup({ keyDefaults: { rateLimit: { requests: 1_000_000, windowSeconds: 60 } } });
    f.app.keyward.authFailures = undefined;
    victim = (await f.createKey(f.other.id, { name: "victim", recoverable: true })).apiKey;
    ownTarget = (await f.createKey(f.member.id, { name: "own target" })).apiKey;
    before = await counts();
  });
  afterAll(() => f.close());

  async function expectNothingChangedThatMustNot(): Promise<void> {
    expect(await keyState(f.app, victim.id)).toEqual(victim);
    expect(await keyState(f.app, ownTarget.id)).toEqual(ownTarget);
    expect(await counts()).toEqual(before);
  }

  it("request bodies: never a 500, never a change without the right to it", async () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    const scopeLike = fc.oneof(fc.constantFrom("read", "write", "admin", "root", "", "READ"), json);
    const dateLike = fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string(), fc.integer(), fc.constant(null));
    const ipLike = fc.oneof(fc.ipV4(), fc.ipV6(), fc.tuple(fc.ipV4(), fc.integer({ min: -1, max: 40 })).map(([ip, prefix]) => `${ip}/${prefix}`), fc.string());
    const numberLike = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null), fc.bigInt().map(String));
    /** Objects shaped like the API's bodies, with values of every kind. */
    const plausibleBody = fc.record(
      {
        name: fc.oneof(fc.string({ maxLength: 120 }), json),
        description: fc.oneof(fc.string({ maxLength: 600 }), json),
        scopes: fc.oneof(fc.array(scopeLike, { maxLength: 5 }), json),
        expiresAt: dateLike,
        expiresInDays: numberLike,
        allowedIps: fc.oneof(fc.array(ipLike, { maxLength: 4 }), json),
        rateLimit: fc.oneof(fc.record({ requests: numberLike, windowSeconds: numberLike }, { requiredKeys: [] }), json),
        metadata: fc.oneof(fc.dictionary(fc.string({ maxLength: 10 }), json, { maxKeys: 4 }), json),
        ownerId: fc.oneof(fc.constant(f.other.id), fc.constant(f.admin.id), fc.string()),
        recoverable: fc.oneof(fc.boolean(), json),
        disabled: fc.oneof(fc.boolean(), json),
        gracePeriodSeconds: numberLike,
        key: fc.oneof(fc.string(), fc.constant(generateKey()), json),
        scope: scopeLike,
        ip: ipLike,
        constructor: json,
      },
      { requiredKeys: [] },
    );
    const nasty = fc.constantFrom(
      '{"__proto__": {"scopes": ["admin"]}, "name": "x", "scopes": ["read"]}',
      '{"name": "x", "scopes": ["read"], "metadata": {"__proto__": {"polluted": true}}}',
      `{"name":"x","scopes":["read"],"metadata":{"a":${"[".repeat(20_000)}${"]".repeat(20_000)}}}`,
      "[".repeat(30_000),
      '{"name": "\\ud800", "scopes": ["read"]}',
      '{"name": "nul\\u0000", "scopes": ["read"]}',
      '{"name": "ok", "scopes": ["read"], "metadata": {"k\\u0000": "v\\u0000"}}',
      '{"name": "ok", "description": "\\u0000", "scopes": ["read"]}',
      '"just a string"',
      "null",
      "0",
    );
    const anyBody = fc.oneof(plausibleBody, json, fc.string({ maxLength: 200 }), nasty);
    const endpoints = [
      { method: "POST", path: () => "/api/v1/keys" },
      { method: "PATCH", path: () => `/api/v1/keys/${victim.id}` },
      { method: "PATCH", path: () => `/api/v1/keys/${ownTarget.id}` },
      { method: "DELETE", path: () => `/api/v1/keys/${victim.id}` },
      { method: "POST", path: () => `/api/v1/keys/${victim.id}/rotate` },
      { method: "POST", path: () => `/api/v1/keys/${ownTarget.id}/rotate` },
      { method: "POST", path: () => `/api/v1/keys/${victim.id}/reveal` },
      { method: "POST", path: () => "/api/v1/verify" },
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints), anyBody, async (endpoint, body) => {
        // The read-only key may change nothing at all; the write key may not touch another owner's key.
        for (const key of [f.memberReadKey, endpoint.path().includes(ownTarget.id) ? f.memberReadKey : f.memberKey]) {
          const response = await call(f.app, endpoint.path(), { key, method: endpoint.method, body });
          expect(response.status, `${endpoint.method} ${endpoint.path()} ${JSON.stringify(body)} → ${response.text}`).toBeLessThan(500);
          if (response.status >= 400) expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
        }
      }),
      { numRuns: 150 },
    );
    await expectNothingChangedThatMustNot();
  });

  it("auth headers: never a 500, and no write lands without a key entitled to it", async () => {
    const base62 = fc.constantFrom(...BASE62.split(""));
    const printable = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 90 });
    const known = [f.memberKey, f.memberReadKey, generateKey()];
    const mutated = fc.tuple(fc.constantFrom(...known), fc.nat({ max: 63 }), base62).map(([key, at, char]) => key.slice(0, at) + char + key.slice(at + 1));
    const keyish = fc.oneof(printable, mutated, fc.constantFrom(...known), fc.constantFrom(...known).map((k) => k.toLowerCase()), fc.constantFrom(...known).map((k) => k.slice(0, 40)));
    const scheme = fc.constantFrom("Bearer ", "bearer ", "Basic ", "Token ", "", "Bearer  ");
    const headers = fc.oneof(
      fc.tuple(scheme, keyish).map(([s, k]) => ({ Authorization: `${s}${k}` })),
      keyish.map((k) => ({ "X-API-Key": k })),
      fc.tuple(scheme, keyish, keyish).map(([s, a, b]) => ({ Authorization: `${s}${a}`, "X-API-Key": b })),
    );
    const request = fc.constantFrom(
      { method: "PATCH", path: `/api/v1/keys/${victim.id}`, body: { name: "pwned", disabled: true, scopes: ["read"] } },
      { method: "DELETE", path: `/api/v1/keys/${victim.id}` },
      { method: "POST", path: `/api/v1/keys/${victim.id}/rotate`, body: {} },
      { method: "POST", path: `/api/v1/keys/${victim.id}/reveal` },
      { method: "PATCH", path: `/api/v1/keys/${ownTarget.id}`, body: { name: "pwned" }, readOnly: true },
      { method: "GET", path: "/api/v1/me" },
      { method: "POST", path: "/api/v1/verify", body: { key: generateKey() } },
    );
    await fc.assert(
      fc.asyncProperty(headers, request, async (authHeaders, { method, path, body, readOnly }) => {
        // A PATCH of the member's own key is only legitimate with the member's write key: leave that one out.
        if (readOnly && Object.values(authHeaders).some((value) => value.includes(f.memberKey))) return;
        const response = await call(f.app, path, { method, body, headers: authHeaders });
        expect(response.status, `${method} ${path} ${JSON.stringify(authHeaders)} → ${response.text}`).toBeLessThan(500);
        // Only the two read-only requests may succeed; every write must be refused.
        if (!(path === "/api/v1/me" || path === "/api/v1/verify")) expect(response.status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 150 },
    );
    await expectNothingChangedThatMustNot();
  });

  it("query strings and path segments: never a 500", async () => {
    const name = fc.oneof(fc.constantFrom("limit", "cursor", "status", "ownerId", "q"), fc.string({ maxLength: 12 }));
    const value = fc.oneof(fc.string({ maxLength: 60 }), fc.integer().map(String), fc.constantFrom("0", "101", "-1", "1e3", "all", "revoked", "NaN"));
    const segment = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom(victim.id, "key_", "..", "%", "%E0%A4%A", "key_00000000000000000000"));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(name, value), { maxLength: 4 }), segment, fc.constantFrom("GET", "PATCH", "DELETE", "POST"), async (query, id, method) => {
        const search = new URLSearchParams(query).toString();
        const list = await call(f.app, `/api/v1/keys?${search}`, { key: f.memberReadKey });
        expect(list.status, `GET /api/v1/keys?${search} → ${list.text}`).toBeLessThan(500);
        const raw = /^%|\.\./.test(id) ? id : encodeURIComponent(id);
        const byId = await call(f.app, `/api/v1/keys/${raw}`, { key: f.memberReadKey, method, body: method === "GET" || method === "DELETE" ? undefined : {} });
        expect(byId.status, `${method} /api/v1/keys/${raw} → ${byId.text}`).toBeLessThan(500);
      }),
      { numRuns: 100 },
    );
    await expectNothingChangedThatMustNot();
  });

  it("dates in cursors and from/to filters: never a 500, and a date outside the accepted range is a 422", async () => {
    const unstorable = ["0000-01-01T00:00:00.000Z", "+275760-09-13T00:00:00.000Z", "-271821-04-20T00:00:00.000Z", "+010000-01-01T00:00:00.000Z", "0001-01-01T00:00:00.000Z"];
    const isoText = fc.oneof(
      fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
      fc.date({ min: EARLIEST_INSTANT, max: LATEST_INSTANT, noInvalidDate: true }).map((date) => date.toISOString()),
      fc.constantFrom(...unstorable, EARLIEST_INSTANT.toISOString(), LATEST_INSTANT.toISOString(), "1969-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
    );
    const cursorId = fc.oneof(fc.constantFrom("key_00000000000000000000", "aud_00000000000000000000"), fc.nat(), fc.string({ maxLength: 8 }));
    const cursor = fc.tuple(isoText, cursorId).map(([at, id]) => ({ at, text: Buffer.from(JSON.stringify([at, id])).toString("base64url") }));
    const reads = [
      { path: () => "/api/v1/keys", params: ["cursor"] },
      { path: () => "/api/v1/audit", params: ["cursor", "from", "to"] },
      { path: () => "/api/v1/audit/export", params: ["from", "to"] },
      { path: () => "/api/v1/security-events", params: ["cursor", "from", "to"] },
      { path: () => "/api/v1/alerts", params: ["cursor"] },
      { path: () => "/api/v1/usage/summary", params: ["from", "to"] },
      { path: () => `/api/v1/keys/${victim.id}/usage`, params: ["from", "to"] },
      { path: () => `/api/v1/keys/${victim.id}/requests`, params: ["cursor"] },
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...reads), cursor, isoText, isoText, fc.nat(), async (read, pagedFrom, from, to, pick) => {
        // One or two of the endpoint's date parameters, chosen by `pick`.
        const chosen = read.params.filter((_, index) => (pick >> index) & 1 || index === pick % read.params.length);
        const values: Record<string, string> = { cursor: pagedFrom.text, from, to };
        const dates: Record<string, string> = { cursor: pagedFrom.at, from, to };
        const search = new URLSearchParams(chosen.map((name) => [name, values[name]!]));
        const response = await call(f.app, `${read.path()}?${search}`, { key: f.adminKey });
        expect(response.status, `GET ${read.path()}?${search} → ${response.text}`).toBeLessThan(500);
        if (chosen.some((name) => !isWithinDateRange(new Date(dates[name]!)))) expect(response.status, `${read.path()}?${search}`).toBe(422);
      }),
      { numRuns: 150 },
    );
  });

  it("paths spelled with dot-segments, escapes and backslashes: never a 500, never a change", async () => {
    /** node:http sends the path byte for byte (fetch would resolve the dot-segments first). */
    const raw = (method: string, rawPath: string, key: string, origin: string | undefined) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const body = method === "GET" || method === "DELETE" ? "" : JSON.stringify({ name: "pwned", disabled: true, scopes: ["admin"] });
        const headers = { Authorization: `Bearer ${key}`, "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(body)), ...(origin ? { Origin: origin } : {}) };
        const request = http.request(`${f.app.url}/`, { method, path: rawPath, headers }, (response) => {
          let text = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => (text += chunk));
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
        });
        request.on("error", reject);
        request.end(body);
      });
    const piece = fc.oneof(
      fc.constantFrom("..", ".", "%2e%2e", "%2E%2e", ".%2e", "%2e", "", "\\", "..\\", "%2f", "%5c", "%00", "%", "%zz"),
      fc.constantFrom("api", "v1", "keys", "rotate", "reveal", "verify", "trpc", "login", victim.id, ownTarget.id, "me"),
    );
    const rawPath = fc.tuple(fc.constantFrom("/api/v1/", "/api/v1/keys/", "/", "/api/"), fc.array(piece, { minLength: 1, maxLength: 6 })).map(([start, pieces]) => `${start}${pieces.join("/")}`);
    await fc.assert(
      // Cross-site too: a page reached through a disguised path must be refused (403), never Remix's 500.
      fc.asyncProperty(rawPath, fc.constantFrom("GET", "POST", "PATCH", "DELETE"), fc.constantFrom(undefined, "https://evil.example"), async (path, method, origin) => {
        const response = await raw(method, path, f.memberReadKey, origin);
        expect(response.status, `${method} ${path} (Origin ${origin}) → ${response.body.slice(0, 200)}`).toBeLessThan(500);
      }),
      { numRuns: 200 },
    );
    await expectNothingChangedThatMustNot();
  });
});
