import http from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, system, TEST_PASSWORD } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

const EVIL = "https://evil.example";

/**
 * Paths that reach a page once dot-segments are resolved: the CSRF refusal must judge the page
 * the request reaches, not the text it was spelled with. fetch would resolve `..` before sending,
 * so these go out through node:http, byte for byte.
 */
const DISGUISED_LOGIN = [
  "/api/../login",
  "/api/%2e%2e/login",
  "/api/%2E%2E/login",
  "/api/.%2e/login",
  "/api/%2e./login",
  "/api/./../login",
  "/api/v1/../../login",
  "/api\\..\\login",
  "/api/..\\login",
  "/build/../login",
  "/./login",
  "/login/.",
  "//login",
  "/api/../login?redirectTo=%2Fkeys",
];
/** Paths under /api/ that no API route serves: the pages render them (a 404), so they are pages. */
const PAGES_UNDER_API = ["/api/", "/api/.", "/api/x", "/api/events/x", "/api/health/x", "/api/v1%2f..%2f..%2flogin"];

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let app: RunningApp;
let email: string;
let key: string;

function send(method: string, rawPath: string, headers: Record<string, string>, body = ""): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${app.url}/`, { method, path: rawPath, headers: { ...headers, "Content-Length": String(Buffer.byteLength(body)) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    request.on("error", reject);
    request.end(body);
  });
}

const signInForm = () => new URLSearchParams({ email, password: TEST_PASSWORD }).toString();
const formHeaders = (origin: string) => ({ "Content-Type": "application/x-www-form-urlencoded", Origin: origin });

beforeAll(async () => {
  app = await startApp();
  const admin = await createUser(app.keyward, "admin");
  email = admin.email;
  key = (await app.keyward.keys.create(system, { name: "csrf paths", scopes: ["read"], ownerId: admin.id })).key;
});
afterAll(() => app?.close());

describe("the cross-site refusal judges the normalised path", () => {
  it.each(DISGUISED_LOGIN)("refuses a cross-site sign-in POSTed to %s with 403, never a 500", async (rawPath) => {
    const response = await send("POST", rawPath, formHeaders(EVIL), signInForm());
    expect(response.status, response.body).toBe(403);
    expect(response.body).toBe("Cross-site request refused");
    expect(response.headers["set-cookie"]).toBeUndefined();
  });

  it.each(PAGES_UNDER_API)("refuses a cross-site POST to %s, a page no API route serves, with 403", async (rawPath) => {
    const response = await send("POST", rawPath, formHeaders(EVIL), signInForm());
    expect(response.status, response.body).toBe(403);
  });

  it("refuses a cross-site POST by Sec-Fetch-Site alone on a disguised path", async () => {
    const response = await send("POST", "/api/%2e%2e/login", { "Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site" }, signInForm());
    expect(response.status).toBe(403);
  });

  it("still signs in from the same origin through a dot-segment path (the page it reaches)", async () => {
    const response = await send("POST", "/api/../login", formHeaders(app.url), signInForm());
    expect(response.status, response.body).toBe(302);
    expect(response.headers["set-cookie"]?.join(";")).toMatch(/keyward_session=/);
  });

  it("leaves /api/* to decide for itself, also when the path was spelled with dot-segments", async () => {
    const response = await send("GET", "/api/./v1/../v1/me", { Authorization: `Bearer ${key}`, Origin: EVIL });
    expect(response.status, response.body).toBe(200);
    const verify = await send("POST", "/api/v1/x/../verify", { Authorization: `Bearer ${key}`, Origin: EVIL, "Content-Type": "application/json" }, JSON.stringify({ key }));
    expect(verify.status, verify.body).toBe(200);
  });

  it("serves the favicon and built assets at their normalised paths", async () => {
    expect((await send("GET", "/api/../favicon.ico", {})).status).toBe(200);
    expect((await send("GET", "/build/x/../../favicon.ico", {})).status).toBe(200);
  });

  it("never answers a cross-site POST with a 500, whatever dot-segments and encodings the path mixes", async () => {
    const piece = fc.constantFrom("..", ".", "%2e%2e", "%2E.", ".%2e", "%2e", "api", "v1", "trpc", "events", "login", "logout", "keys", "new", "account", "build", "", "\\", "%2f", "%5c");
    const rawPath = fc.array(piece, { minLength: 1, maxLength: 6 }).map((pieces) => `/${pieces.join("/")}`);
    await fc.assert(
      fc.asyncProperty(rawPath, async (path) => {
        const response = await send("POST", path, formHeaders(EVIL), signInForm());
        expect(response.status, `${path} → ${response.body}`).toBeLessThan(500);
        expect(response.headers["set-cookie"], path).toBeUndefined();
      }),
      { numRuns: 120 },
    );
  });
});
