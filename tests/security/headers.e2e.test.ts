import fs from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import zlib from "node:zlib";
import compression from "compression";
import express from "express";
import { chromium, type Browser, type ConsoleMessage } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compressionFilter } from "../../app/server/http";
import { inCI } from "../support/ci";
import { createUser, TEST_PASSWORD } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = path.resolve("tests/.artifacts");
const hasChromium = fs.existsSync(CHROMIUM);
const skipBrowser = !hasChromium && !inCI;

/** The directives of a Content-Security-Policy header, by name. */
function directives(header: string | null): Map<string, string> {
  return new Map(
    (header ?? "")
      .split(";")
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => [part.split(/\s+/)[0]!, part.slice(part.indexOf(" ") + 1)]),
  );
}

describe("security headers over HTTP", () => {
  let app: RunningApp;
  let proxied: RunningApp;

  beforeAll(async () => {
    app = await startApp();
    proxied = await startApp({ env: { KEYWARD_TRUST_PROXY: "1" } });
  });

  afterAll(async () => {
    await app?.close();
    await proxied?.close();
  });

  it("a page carries a CSP whose nonce is on every inline script, new for every response", async () => {
    const first = await fetch(`${app.url}/login`);
    const html = await first.text();
    const csp = directives(first.headers.get("content-security-policy"));
    expect(csp.get("frame-ancestors")).toBe("'none'");
    expect(csp.get("object-src")).toBe("'none'");
    expect(csp.get("base-uri")).toBe("'self'");
    expect(csp.get("form-action")).toBe("'self'");
    expect(csp.get("default-src")).toBe("'self'");
    const nonce = /^'self' 'nonce-([A-Za-z0-9+/=]{22,})'$/.exec(csp.get("script-src") ?? "")?.[1];
    expect(nonce, csp.get("script-src")).toBeTruthy();
    expect(csp.get("script-src")).not.toContain("unsafe-inline");

    const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((match) => match[1]!);
    expect(scripts.length).toBeGreaterThan(2);
    for (const attributes of scripts.filter((attributes) => !/\bsrc=/.test(attributes))) expect(attributes).toContain(`nonce="${nonce}"`);

    const second = await fetch(`${app.url}/login`);
    await second.arrayBuffer();
    expect(directives(second.headers.get("content-security-policy")).get("script-src")).not.toContain(nonce);
    for (const response of [first, second]) {
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("referrer-policy")).toBe("same-origin");
      expect(response.headers.get("x-frame-options")).toBe("DENY");
    }
  });

  it("sends HSTS only when the request came over TLS, as told by a trusted proxy", async () => {
    const plain = await fetch(`${app.url}/api/health`);
    expect(plain.headers.get("strict-transport-security")).toBeNull();
    // Without KEYWARD_TRUST_PROXY, a client's own X-Forwarded-Proto is not believed.
    const claimed = await fetch(`${app.url}/api/health`, { headers: { "X-Forwarded-Proto": "https" } });
    expect(claimed.headers.get("strict-transport-security")).toBeNull();
    const behindTls = await fetch(`${proxied.url}/api/health`, { headers: { "X-Forwarded-Proto": "https" } });
    expect(behindTls.headers.get("strict-transport-security")).toMatch(/^max-age=\d{8,}; includeSubDomains$/);
    const behindPlain = await fetch(`${proxied.url}/api/health`, { headers: { "X-Forwarded-Proto": "http" } });
    expect(behindPlain.headers.get("strict-transport-security")).toBeNull();
  });

  it("serves fingerprinted assets as immutable and compressed, the favicon cached briefly", async () => {
    const html = await (await fetch(`${app.url}/login`)).text();
    const asset = /<link rel="stylesheet" href="(\/build\/[^"]+\.css)"/.exec(html)?.[1];
    expect(asset, "no stylesheet link in the page").toBeTruthy();
    const response = await fetch(`${app.url}${asset}`, { headers: { "Accept-Encoding": "gzip" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    // fetch decodes the body and keeps the header: the response was compressed on the wire.
    expect(response.headers.get("content-encoding")).toBe("gzip");
    const favicon = await fetch(`${app.url}/favicon.ico`);
    expect(favicon.status).toBe(200);
    expect(favicon.headers.get("cache-control")).toBe("public, max-age=3600");
  });

  it("answers a Host header no URL can be made of with 400, not 500", async () => {
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const outgoing = request(`${app.url}/login`, { headers: { Host: "bad host" } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      outgoing.on("error", reject);
      outgoing.end();
    });
    expect(status).toBe(400);
  });
});

describe("compression filter", () => {
  let server: ReturnType<express.Express["listen"]>;
  let url: string;

  beforeAll(async () => {
    const app = express();
    app.use(compression({ filter: compressionFilter }));
    app.get("/events", (_req, res) => {
      res.setHeader("Content-Type", "text/event-stream");
      res.setHeader("Cache-Control", "no-store");
      res.flushHeaders();
      res.write(`data: ${"x".repeat(2048)}\n\n`);
      // Left open, as an event stream is: the client must get the first event anyway.
    });
    app.get("/text", (_req, res) => res.type("text/plain").send("y".repeat(4096)));
    server = app.listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("leaves text/event-stream uncompressed, so each event arrives as it is written", async () => {
    const controller = new AbortController();
    const response = await fetch(`${url}/events`, { headers: { "Accept-Encoding": "gzip" }, signal: controller.signal });
    expect(response.headers.get("content-encoding")).toBeNull();
    const reader = response.body!.getReader();
    const first = await Promise.race([reader.read(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the first event was held back")), 3_000))]);
    expect(new TextDecoder().decode(first.value)).toMatch(/^data: x+/);
    controller.abort();
  });

  it("still compresses everything else", async () => {
    const { request } = await import("node:http");
    const { encoding, body } = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      const outgoing = request(`${url}/text`, { headers: { "Accept-Encoding": "gzip" } }, (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve({ encoding: response.headers["content-encoding"], body: Buffer.concat(chunks) }));
      });
      outgoing.on("error", reject);
      outgoing.end();
    });
    expect(encoding).toBe("gzip");
    expect(zlib.gunzipSync(body).toString()).toBe("y".repeat(4096));
  });
});

describe.skipIf(skipBrowser)("the dashboard in Chromium under the CSP", () => {
  let app: RunningApp;
  let browser: Browser;

  beforeAll(async () => {
    if (!hasChromium) throw new Error(`In CI but Chromium is missing at ${CHROMIUM}: install it with apt-get install -y chromium`);
    app = await startApp();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it("loads /login and /keys with every script running and no CSP violation", { timeout: 90_000 }, async () => {
    const admin = await createUser(app.keyward, "admin");
    const context = await browser.newContext({ baseURL: app.url });
    const page = await context.newPage();
    const violations: string[] = [];
    const errors: string[] = [];
    page.on("console", (message: ConsoleMessage) => {
      if (/Content Security Policy|Refused to (execute|load|apply|connect|frame)/i.test(message.text())) violations.push(message.text());
      else if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    // Reported even when nothing reaches the console. (Playwright's waitForFunction evaluates a string, which
    // the CSP rightly refuses: the checks below poll with evaluate instead.)
    await page.exposeFunction("reportViolation", (text: string) => violations.push(text));
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (event) => {
        (window as unknown as { reportViolation(text: string): void }).reportViolation(`${event.violatedDirective}: ${event.blockedURI} at ${event.sourceFile}:${event.lineNumber}`);
      });
    });

    await page.goto("/login");
    // Hydrated: Remix's inline context and module scripts ran, which the nonce allowed.
    await expect.poll(() => page.evaluate(() => "__remixRouter" in window)).toBe(true);
    // The inline theme script ran before paint.
    await expect(page.evaluate(() => document.documentElement.style.colorScheme)).resolves.toMatch(/^(light|dark)$/);

    await page.getByLabel("Email").fill(admin.email);
    await page.getByLabel("Password").fill(TEST_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/(keys|overview)?$/);
    await page.goto("/keys");
    await page.getByRole("heading", { name: "API keys", exact: true }).waitFor();
    await expect.poll(() => page.evaluate(() => "__remixRouter" in window)).toBe(true);
    // A client-side navigation: the router, loaded under the CSP, fetches loader data.
    await page.getByRole("link", { name: "Create key" }).first().click();
    await page.waitForURL(/\/keys\/new$/);
    await page.getByLabel("Name").waitFor();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "csp-create-key.png") });

    expect(violations).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });
});
