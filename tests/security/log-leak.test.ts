/**
 * Issue 5's acceptance for logging: a flow that puts keys, the password and the session everywhere
 * a client can put them, against the real HTTP stack, with every log line (and anything printed to
 * the console, routed through the logger as the server process does) captured — then the capture
 * must show those requests and none of those secrets.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKey } from "../../app/lib/key-format";
import type { RunningApp } from "../support/server";

interface LogLine {
  level: string;
  msg: string;
  requestId?: string;
  path?: string;
  status?: number;
  err?: { message?: string };
  [field: string]: unknown;
}

const captureDir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-log-leak-"));
// The run's own log file and level (tests/support/log-capture.ts), given back when this file is done.
const runEnvironment = { KEYWARD_LOG_FILE: process.env.KEYWARD_LOG_FILE, KEYWARD_LOG_LEVEL: process.env.KEYWARD_LOG_LEVEL };
const captureFile = path.join(captureDir, "capture.ndjson");

let app: RunningApp;
let restoreConsole: () => void;
let password: string;
let percentDecoded: (text: string) => string | null;
const secrets: { what: string; value: string }[] = [];
/** Request id → what the request was, for the "was it logged at all" check. */
const sent = new Map<string, string>();

function secret(what: string, value: string): string {
  secrets.push({ what, value });
  return value;
}

async function request(label: string, url: string, init: RequestInit = {}): Promise<Response> {
  const requestId = `leak-${crypto.randomBytes(6).toString("hex")}`;
  sent.set(requestId, label);
  const headers = new Headers(init.headers);
  headers.set("X-Request-Id", requestId);
  const response = await fetch(`${app.url}${url}`, { redirect: "manual", ...init, headers });
  await response.arrayBuffer();
  return response;
}

function readCapture(): { text: string; lines: LogLine[] } {
  const text = fs.readFileSync(captureFile, "utf8");
  const lines = text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);
  return { text, lines };
}

beforeAll(async () => {
  // The logger reads these when its module loads: set them before the app (and its build) is imported.
  process.env.KEYWARD_LOG_FILE = captureFile;
  process.env.KEYWARD_LOG_LEVEL = "debug";
  const logging = await import("../../app/lib/logger.server");
  const { routeConsoleTo, logger } = logging;
  percentDecoded = logging.percentDecoded;
  const { startApp } = await import("../support/server");
  const keyward = await import("../support/keyward");
  restoreConsole = routeConsoleTo(logger);
  password = keyward.TEST_PASSWORD;
  secrets.push(
    { what: "the password", value: password },
    { what: "the URL-encoded password", value: encodeURIComponent(password) },
    { what: "the form-encoded password", value: new URLSearchParams({ p: password }).toString().slice(2) },
  );
  app = await startApp();
  const admin = await keyward.createUser(app.keyward, "admin");
  const created = await app.keyward.keys.create(admin.actor, { name: "Leak test", scopes: ["read", "write", "admin"] });
  const key = secret("the admin key", created.key);

  // Signing in: the password in a form body, the session in Set-Cookie.
  const signIn = await request("login", "/login", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: app.url },
    body: new URLSearchParams({ email: admin.email, password }),
  });
  expect(signIn.status).toBe(302);
  const cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;
  secret("the session id", cookie.slice(cookie.indexOf("=") + 1));

  // A wrong password is logged as a failure, never as what was typed.
  await request("login with a wrong password", "/login", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: app.url },
    body: new URLSearchParams({ email: admin.email, password: `${password}!` }),
  });
  secret("the wrong password", `${password}!`);

  // The dashboard with the session cookie; tRPC with the cookie and with the key.
  await request("keys page with the session", "/keys", { headers: { Cookie: cookie } });
  await request("tRPC with the session", "/api/trpc/me", { headers: { Cookie: cookie } });
  await request("tRPC with the key", "/api/trpc/me", { headers: { Authorization: `Bearer ${key}` } });

  // A second key, created over REST: the plaintext is in the response body only.
  const second = await request("create a key over REST", "/api/v1/keys", {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "Second", scopes: ["read"] }),
  });
  expect(second.status).toBe(201);

  // REST with the key everywhere a client may put it.
  await request("REST, Authorization", "/api/v1/me", { headers: { Authorization: `Bearer ${key}` } });
  await request("REST, X-API-Key", "/api/v1/me", { headers: { "X-API-Key": key } });
  await request("REST, key in the query", `/api/v1/me?api_key=${key}&page=2`);
  await request("REST, key in the path", `/api/v1/keys/${key}`, { headers: { Authorization: `Bearer ${key}` } });
  await request("REST, key URL-encoded in the path", `/api/v1/keys/kw%5F${key.slice(3)}`, { headers: { Authorization: `Bearer ${key}` } });
  // The key percent-encoded, in the path and the query, as a client (or an attacker probing the log) may send it.
  secret("the key's characters after kw_", key.slice(3));
  const hex = (char: string) => char.charCodeAt(0).toString(16).padStart(2, "0");
  const encodedForms: [string, string][] = [
    ["the k encoded behind a prefix", `x%6Bw_${key.slice(3)}`],
    ["the k encoded", `%6bw_${key.slice(3)}`],
    ["every character encoded, mixed-case hex", [...key].map((c, i) => `%${i % 2 ? hex(c).toUpperCase() : hex(c)}`).join("")],
    ["double-encoded", `%256Bw_${key.slice(3)}`],
    ["double-encoded throughout", [...key].map((c) => `%25${hex(c)}`).join("")],
  ];
  for (const [what, encoded] of encodedForms) {
    await request(`REST, key in the path, ${what}`, `/api/v1/keys/${encoded}`, { headers: { Authorization: `Bearer ${key}` } });
    await request(`REST, key as a query name, ${what}`, `/api/v1/me?${encoded}=1`, { headers: { Authorization: `Bearer ${key}` } });
    await request(`REST, key in a form-encoded query value, ${what}`, `/api/v1/me?q=a+${encoded}+b`);
    await request(`a page URL holding the key, ${what}`, `/${encoded}`, { headers: { Cookie: cookie } });
  }
  const wrong = secret("a well-formed unknown key", generateKey());
  await request("REST, an unknown key", "/api/v1/me", { headers: { Authorization: `Bearer ${wrong}` } });
  const mistyped = secret("the key with one character changed", `${key.slice(0, 20)}${key[20] === "A" ? "B" : "A"}${key.slice(21)}`);
  await request("REST, a mistyped key", "/api/v1/me", { headers: { Authorization: `Bearer ${mistyped}` } });
  const truncated = secret("the key without its last character", key.slice(0, -1));
  await request("REST, a truncated key", "/api/v1/me", { headers: { "X-API-Key": truncated } });
  await request("REST, a malformed Authorization", "/api/v1/me", { headers: { Authorization: `Basic ${Buffer.from(`admin:${password}`).toString("base64")}` } });
  secret("Basic credentials", Buffer.from(`admin:${password}`).toString("base64"));
  await request("REST, invalid JSON quoting the key", "/api/v1/keys", {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: `{"name": "${key}", "password": "${password}"`,
  });

  // Errors whose message quotes the key: no route matches a page URL holding it; a body that is not the form it claims.
  await request("a page URL holding the key", `/${key}?password=${encodeURIComponent(password)}`, { headers: { Cookie: cookie } });
  await request("a broken form body with the key and password", "/login", {
    method: "POST",
    headers: { "Content-Type": "multipart/form-data; boundary=x", Origin: app.url },
    body: `--x\r\nContent-Disposition: form-data; name="password"\r\n\r\n${password} ${key}`,
  });
  // A Host no URL can be made of, holding the key (fetch will not send such a Host: node:http will).
  const requestId = "leak-malformed-host";
  sent.set(requestId, "a malformed Host");
  const hostStatus = await new Promise<number>((resolve, reject) => {
    const outgoing = http.request(`${app.url}/api/v1/me`, { headers: { Host: `${key} ${password}`, "X-Request-Id": requestId } }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
  expect(hostStatus).toBe(400);

  await request("sign out", "/logout", { method: "POST", headers: { Cookie: cookie, Origin: app.url } });
}, 120_000);

afterAll(async () => {
  restoreConsole?.();
  await app?.close();
  for (const [name, value] of Object.entries(runEnvironment)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  fs.rmSync(captureDir, { recursive: true, force: true });
});

describe("logs of a flow full of secrets", () => {
  it("have one line for every request, with its method, path, status and duration", () => {
    const { lines } = readCapture();
    const requestLines = lines.filter((line) => line.msg === "request" || line.msg === "request failed");
    const missing = [...sent].filter(([id]) => !requestLines.some((line) => line.requestId === id)).map(([, label]) => label);
    expect(missing).toEqual([]);
    for (const line of requestLines.filter((candidate) => sent.has(candidate.requestId ?? ""))) {
      expect(line).toMatchObject({ method: expect.any(String), path: expect.stringMatching(/^\//), status: expect.any(Number), durationMs: expect.any(Number), ip: "127.0.0.1" });
      expect(line.level).toBe(line.status! >= 500 ? "error" : "info");
    }
  });

  it("log the errors that quote a key, with the key redacted", () => {
    const { lines } = readCapture();
    const routeError = lines.find((line) => line.msg === "route error response" && sent.get(line.requestId ?? "") === "a page URL holding the key");
    expect(routeError?.err?.message).toContain("[REDACTED_KEY]");
    const queryLine = lines.find((line) => sent.get(line.requestId ?? "") === "REST, key in the query" && line.msg === "request");
    expect(queryLine).toMatchObject({ path: "/api/v1/me", query: "api_key=[REDACTED]&page=[REDACTED]", status: 400 });
    const pathLine = lines.find((line) => sent.get(line.requestId ?? "") === "REST, key in the path" && line.msg === "request");
    expect(pathLine).toMatchObject({ path: "/api/v1/keys/[REDACTED_KEY]", status: 400 });
    const encodedLine = lines.find((line) => sent.get(line.requestId ?? "") === "REST, key in the path, the k encoded behind a prefix" && line.msg === "request");
    expect(encodedLine).toMatchObject({ path: "/api/v1/keys/[REDACTED_KEY]", status: 400 });
  });

  it("hold no key, password, session id or credential the flow sent", () => {
    const { text } = readCapture();
    expect(text.length).toBeGreaterThan(0);
    const leaked = secrets.filter(({ value }) => text.includes(value)).map(({ what }) => what);
    expect(leaked).toEqual([]);
    expect(text).not.toMatch(/kw_[0-9A-Za-z]{16,}/);
    // Nor in any form: decoded as often as it takes, the capture still holds no key.
    const decoded = percentDecoded(text);
    expect(decoded).not.toBeNull();
    expect(secrets.filter(({ value }) => decoded!.includes(value)).map(({ what }) => what)).toEqual([]);
    expect(decoded).not.toMatch(/kw_[0-9A-Za-z]{16,}/);
    expect(text).not.toMatch(/keyward_session=(?!\[REDACTED\])[^;\s"]/);
  });
});
