import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createKeyward, KeywardError, SERVER_ERROR_CODES, type ApiKeyView } from "../src/index";
import { PROCEDURES } from "../src/generated/router";
import { BASE_URL, expectEvery, issuedKey, procedureOf, trpcData, trpcError, TRPC, wellFormedKey } from "./support";

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const API_KEY = wellFormedKey();

const apiKeyView: ApiKeyView = {
  id: "key_0123456789abcdefABCD",
  name: "billing",
  description: "",
  start: "kw_abcd",
  last4: "wxyz",
  ownerId: "usr_0123456789abcdefABCD",
  scopes: ["read"],
  allowedIps: [],
  rateLimit: null,
  ratelimits: [],
  status: "active",
  expiresAt: null,
  disabledAt: null,
  revokedAt: null,
  createdAt: "2026-11-25T10:00:00.000Z",
  updatedAt: "2026-11-25T10:00:00.000Z",
  lastUsedAt: null,
  lastUsedIp: null,
  requestCount: 0,
  metadata: {},
  recoverable: false,
  rotatedFrom: null,
  kind: "root",
  apiId: null,
  identityId: null,
  permissions: [],
  apiIds: null,
  credits: null,
};

/** Records every request, answering with `answer`. */
function recordAll(answer: (request: Request) => Response | Promise<Response>) {
  const requests: Request[] = [];
  server.use(
    http.all(`${TRPC}/*`, ({ request }) => {
      requests.push(request.clone());
      return answer(request);
    }),
  );
  return requests;
}

describe("request shapes", () => {
  it("sends a query as GET with its input in the query string and the key as a Bearer token", async () => {
    const requests = recordAll(() => trpcData({ data: [apiKeyView], nextCursor: null }));
    const keyward = createKeyward({ baseUrl: BASE_URL, apiKey: API_KEY });

    const page = await keyward.keys.list({ limit: 5, status: "active" });

    expect(page).toEqual({ data: [apiKeyView], nextCursor: null });
    expect(requests).toHaveLength(1);
    const [request] = requests;
    const url = new URL(request!.url);
    expect(request!.method).toBe("GET");
    expect(url.pathname).toBe("/api/trpc/keys.list");
    expect(JSON.parse(url.searchParams.get("input")!)).toEqual({ limit: 5, status: "active" });
    expect(request!.headers.get("authorization")).toBe(`Bearer ${API_KEY}`);
  });

  it("sends a mutation as POST with a JSON body", async () => {
    const requests = recordAll(() => trpcData({ key: wellFormedKey(), apiKey: apiKeyView }));
    const keyward = createKeyward({ baseUrl: BASE_URL, apiKey: API_KEY });

    const created = await keyward.keys.create({ name: "billing", scopes: ["read"], expiresInDays: 30 });

    expect(created.apiKey.id).toBe(apiKeyView.id);
    const [request] = requests;
    expect(request!.method).toBe("POST");
    expect(new URL(request!.url).pathname).toBe("/api/trpc/keys.create");
    expect(new URL(request!.url).search).toBe("");
    expect(request!.headers.get("content-type")).toContain("application/json");
    expect(await request!.json()).toEqual({ name: "billing", scopes: ["read"], expiresInDays: 30 });
  });

  it("verifies with the presented key in the body, never in the URL", async () => {
    const presented = issuedKey();
    const requests = recordAll(() => trpcData({ valid: false, code: "INVALID" }));
    const keyward = createKeyward({ baseUrl: BASE_URL, apiKey: API_KEY });

    const verdict = await keyward.verify({ key: presented, apiId: "api_0123456789abcdefABCD", permissions: { anyOf: ["orders.read"] }, ip: "203.0.113.7" });

    expect(verdict).toEqual({ valid: false, code: "INVALID" });
    expect(requests[0]!.method).toBe("POST");
    expect(requests[0]!.url).not.toContain(presented);
    expect(await requests[0]!.json()).toEqual({ key: presented, apiId: "api_0123456789abcdefABCD", permissions: { anyOf: ["orders.read"] }, ip: "203.0.113.7" });
  });

  it("answers verify as a union narrowed by code", async () => {
    const details = { keyId: "key_0123456789abcdefABCD", apiId: "api_0123456789abcdefABCD", name: "partner", identity: null, permissions: ["orders.read"], meta: {}, expiresAt: null };
    recordAll(() => trpcData({ valid: false, code: "INSUFFICIENT_PERMISSIONS", missing: ["orders.write"], ...details }));
    const verdict = await createKeyward({ baseUrl: BASE_URL, apiKey: API_KEY }).verify({ key: issuedKey(), permissions: ["orders.read", "orders.write"] });
    expect(verdict.valid).toBe(false);
    if (verdict.code !== "INSUFFICIENT_PERMISSIONS") throw new Error(`unexpected ${verdict.code}`);
    expect(verdict.missing).toEqual(["orders.write"]);
    expect(verdict.apiId).toBe(details.apiId);
  });

  it("calls a procedure without input without an input parameter", async () => {
    const requests = recordAll(() => trpcData({ user: { id: "usr_0123456789abcdefABCD", email: "a@example.test", role: "member" }, keyId: "key_0123456789abcdefABCD", scopes: ["read"] }));
    const keyward = createKeyward({ baseUrl: BASE_URL, apiKey: API_KEY });

    const me = await keyward.me();

    expect(me.user.role).toBe("member");
    expect(new URL(requests[0]!.url).pathname).toBe("/api/trpc/me");
    expect(new URL(requests[0]!.url).searchParams.has("input")).toBe(false);
  });

  it("mirrors the router's namespaces, one function per procedure", () => {
    const keyward = createKeyward({ baseUrl: BASE_URL, apiKey: API_KEY });
    for (const path of Object.keys(PROCEDURES)) {
      const method = path.split(".").reduce<unknown>((namespace, part) => (namespace as Record<string, unknown>)[part], keyward);
      expect(typeof method, path).toBe("function");
    }
    expect(Object.keys(keyward.keys)).toEqual(expect.arrayContaining(["create", "disable", "enable", "get", "list", "reveal", "revoke", "rotate", "update"]));
    expect(Object.keys(keyward.users).sort()).toEqual(["create", "disable", "enable", "get", "keys", "list", "setRole"]);
    expect(Object.keys(keyward.audit).sort()).toEqual(["forKey", "list"]);
    expect(typeof keyward.overview.get).toBe("function");
    expect(typeof keyward.me).toBe("function");
    expect(typeof keyward.verify).toBe("function");
  });

  it("adds the headers option (object or function) and never lets it replace the key", async () => {
    const requests = recordAll(() => trpcData({ data: [], nextCursor: null }));
    let calls = 0;
    const keyward = createKeyward({
      baseUrl: BASE_URL,
      apiKey: API_KEY,
      headers: () => ({ "X-Trace": `trace-${++calls}`, Authorization: "Bearer something-else" }),
    });
    await keyward.keys.list({});
    await keyward.keys.list({});
    expect(requests.map((r) => r.headers.get("x-trace"))).toEqual(["trace-1", "trace-2"]);
    expectEvery(requests, (r) => r.headers.get("authorization") === `Bearer ${API_KEY}`);

    const fixed = createKeyward({ baseUrl: BASE_URL, apiKey: API_KEY, headers: { "X-Team": "billing" } });
    await fixed.keys.list({});
    expect(requests[2]!.headers.get("x-team")).toBe("billing");
  });

  it("reads a function apiKey before every request, so a rotated key is picked up", async () => {
    const requests = recordAll(() => trpcData({ data: [], nextCursor: null }));
    let current = wellFormedKey();
    const first = current;
    const keyward = createKeyward({ baseUrl: BASE_URL, apiKey: async () => current });
    await keyward.keys.list({});
    current = wellFormedKey();
    await keyward.keys.list({});
    expect(requests.map((r) => r.headers.get("authorization"))).toEqual([`Bearer ${first}`, `Bearer ${current}`]);
  });

  it("keeps a path prefix of baseUrl and ignores its trailing slash", async () => {
    const requests: string[] = [];
    server.use(
      http.get(`${BASE_URL}/keyward/api/trpc/me`, ({ request }) => {
        requests.push(new URL(request.url).pathname);
        return trpcData({ user: { id: "usr_0123456789abcdefABCD", email: "a@example.test", role: "admin" }, keyId: null, scopes: [] });
      }),
    );
    await createKeyward({ baseUrl: `${BASE_URL}/keyward/`, apiKey: API_KEY }).me();
    expect(requests).toEqual(["/keyward/api/trpc/me"]);
  });

  it("refuses unusable options when the client is created", () => {
    expect(() => createKeyward({ baseUrl: BASE_URL, apiKey: "kw_not-a-key" })).toThrow(TypeError);
    const tampered = API_KEY.slice(0, -1) + (API_KEY.endsWith("A") ? "B" : "A");
    expect(() => createKeyward({ baseUrl: BASE_URL, apiKey: tampered })).toThrow(/checksum/);
    expect(() => createKeyward({ baseUrl: BASE_URL, apiKey: issuedKey() })).toThrow(
      new TypeError("this is a key issued for one of your APIs; the SDK client needs a root key (kw_…)"),
    );
    expect(() => createKeyward({ baseUrl: "keyward.test", apiKey: API_KEY })).toThrow(TypeError);
    expect(() => createKeyward({ baseUrl: "ftp://keyward.test", apiKey: API_KEY })).toThrow(TypeError);
    expect(() => createKeyward({ baseUrl: `${BASE_URL}/?key=${API_KEY}`, apiKey: API_KEY })).toThrow(TypeError);
    expect(() => createKeyward({ baseUrl: BASE_URL, apiKey: API_KEY, retries: -1 })).toThrow(RangeError);
    expect(() => createKeyward({ baseUrl: BASE_URL, apiKey: API_KEY, timeoutMs: 0 })).toThrow(RangeError);
  });
});

describe("error mapping", () => {
  const codes = Object.entries(SERVER_ERROR_CODES) as [string, number][];

  it.each(codes)("maps the server's %s (HTTP %i) to KeywardError with that code and status", async (code, status) => {
    server.use(http.all(`${TRPC}/*`, ({ request }) => trpcError(code, status, { path: procedureOf(request), message: `refused: ${code}` })));
    const keyward = createKeyward({ baseUrl: BASE_URL, apiKey: API_KEY, retries: 0 });

    const error = await keyward.keys.get({ id: "key_0123456789abcdefABCD" }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(KeywardError);
    expect(error).toMatchObject({ name: "KeywardError", code, status, requestId: `req-${code}`, procedure: "keys.get", message: `refused: ${code}` });
  });

  it("carries Retry-After (seconds or HTTP date) as retryAfter", async () => {
    server.use(http.all(`${TRPC}/*`, () => trpcError("rate_limited", 429, { headers: { "Retry-After": "17" } })));
    const keyward = createKeyward({ baseUrl: BASE_URL, apiKey: API_KEY });
    await expect(keyward.me()).rejects.toMatchObject({ code: "rate_limited", status: 429, retryAfter: 17 });

    const inTwoMinutes = new Date(Date.now() + 120_000).toUTCString();
    server.use(http.all(`${TRPC}/*`, () => trpcError("service_unavailable", 503, { headers: { "Retry-After": inTwoMinutes } })));
    const error = (await createKeyward({ baseUrl: BASE_URL, apiKey: API_KEY, retries: 0 }).me().catch((e: unknown) => e)) as KeywardError;
    expect(error.code).toBe("service_unavailable");
    expect(error.retryAfter).toBeGreaterThanOrEqual(118);
    expect(error.retryAfter).toBeLessThanOrEqual(120);
  });

  it("carries the field errors of a validation failure", async () => {
    server.use(http.all(`${TRPC}/*`, () => trpcError("validation_failed", 400, { fieldErrors: { name: ["Name is required"] } })));
    const keyward = createKeyward({ baseUrl: BASE_URL, apiKey: API_KEY });
    await expect(keyward.keys.create({ name: "", scopes: ["read"] })).rejects.toMatchObject({
      code: "validation_failed",
      status: 400,
      fieldErrors: { name: ["Name is required"] },
    });
  });

  it("passes a code this SDK does not know yet through unchanged", async () => {
    server.use(http.all(`${TRPC}/*`, () => trpcError("quota_exhausted", 403)));
    await expect(createKeyward({ baseUrl: BASE_URL, apiKey: API_KEY }).me()).rejects.toMatchObject({ code: "quota_exhausted", status: 403 });
  });

  it("reports an answer that is not Keyward's JSON (a proxy's error page) as invalid_response with its status", async () => {
    server.use(http.all(`${TRPC}/*`, () => new HttpResponse("<html>Bad gateway</html>", { status: 502, headers: { "Content-Type": "text/html", "X-Request-Id": "edge-1" } })));
    const keyward = createKeyward({ baseUrl: BASE_URL, apiKey: API_KEY, retries: 0 });
    await expect(keyward.me()).rejects.toMatchObject({ code: "invalid_response", status: 502, requestId: "edge-1", procedure: "me" });
  });

  it("reports a network failure as network_error with status 0", async () => {
    server.use(http.all(`${TRPC}/*`, () => HttpResponse.error()));
    const error = (await createKeyward({ baseUrl: BASE_URL, apiKey: API_KEY, retries: 0 }).me().catch((e: unknown) => e)) as KeywardError;
    expect(error).toBeInstanceOf(KeywardError);
    expect(error).toMatchObject({ code: "network_error", status: 0, requestId: null });
  });
});
