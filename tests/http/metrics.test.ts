import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetricsServer } from "../../app/server/http";
import { systemActor } from "../../app/services/actor.server";
import { routeLabel } from "../../app/services/metrics.server";
import { call, setup, type Fixture } from "../api/support";
import { startApp } from "../support/server";

/** Prometheus metrics: off by default, behind a token when one is set, and in the text format. */
const TOKEN = "metrics-token-of-this-test-0123456789";

/** Checks the exposition format line by line; returns the samples as `name{labels}` → value. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const declared = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (comment) {
      if (comment[1] === "TYPE") {
        expect(["counter", "gauge", "histogram", "summary", "untyped"], line).toContain(comment[3]);
        declared.add(comment[2]!);
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    expect(sample, `not a sample line: ${line}`).not.toBeNull();
    const name = sample![1]!;
    const family = name.replace(/_(bucket|sum|count|total|created)$/, "");
    expect(declared.has(name) || declared.has(family) || declared.has(`${family}_total`), `${name} has no TYPE line`).toBe(true);
    samples.set(`${name}${sample![2] ?? ""}`, Number(sample![3]));
  }
  return samples;
}

describe("GET /metrics with KEYWARD_METRICS=1 and a token", () => {
  let f: Fixture;
  let issued: { key: string; apiId: string };

  beforeAll(async () => {
    f = await setup({ env: { KEYWARD_METRICS: "1", KEYWARD_METRICS_TOKEN: TOKEN } });
    const system = systemActor("test");
    const api = await f.app.keyward.apis.create(system, { name: "Metered", prefix: "met" }, { ownerId: f.admin.id });
    const { key } = await f.app.keyward.keys.createIssued(system, api.id, { name: "customer" });
    issued = { key, apiId: api.id };
  });
  afterAll(async () => {
    await f?.close();
  });

  const scrape = (headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` }) => fetch(`${f.app.url}/metrics`, { headers });

  it("refuses a scrape without the token, or with another one", async () => {
    expect((await scrape({})).status).toBe(401);
    const wrong = await scrape({ Authorization: "Bearer not-the-metrics-token-at-all" });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain("keyward_");
  });

  it("counts requests by route template and status class, verifications by API and outcome, limiter decisions and cache lookups", async () => {
    for (let i = 0; i < 3; i++) {
      const verified = await call(f.app, "/api/v1/verify", { method: "POST", key: f.adminKey, body: { key: issued.key, apiId: issued.apiId } });
      expect(verified.body).toMatchObject({ valid: true });
    }
    const unknownKey = await call(f.app, "/api/v1/keys/key_00000000000000000000", { key: f.adminKey });
    expect(unknownKey.status).toBe(404);
    await call(f.app, "/api/v1/no-such-endpoint/abc", { key: f.adminKey });

    const response = await scrape();
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseExposition(await response.text());
    const value = (name: string) => samples.get(name);

    expect(value('keyward_http_requests_seconds_count{method="POST",route="/api/v1/verify",status_class="2xx"}')).toBe(3);
    // An id becomes :id; a path that matched no route is one label, whatever it was.
    expect(value('keyward_http_requests_seconds_count{method="GET",route="unmatched",status_class="4xx"}')).toBe(2);
    expect([...samples.keys()].some((name) => name.includes("no-such-endpoint") || name.includes("key_0000"))).toBe(false);
    expect(value(`keyward_verifications_total{api_id="${issued.apiId}",outcome="VALID"}`)).toBe(3);
    const decisions = [...samples].filter(([name]) => name.startsWith("keyward_rate_limit_decisions_total") && name.includes('outcome="allowed"'));
    // The root key takes from its limit on each request that reached a route (3 verifications, 1 key lookup).
    expect(decisions.reduce((sum, [, n]) => sum + n, 0)).toBeGreaterThanOrEqual(4);
    expect(value('keyward_verification_cache_lookups_total{result="hit"}')).toBeGreaterThan(0);
    expect(value("keyward_verification_cache_entries")).toBeGreaterThan(0);
    expect(value("keyward_usage_buffered")).toBeGreaterThanOrEqual(0);
    expect(value("keyward_process_resident_memory_bytes")).toBeGreaterThan(0);
    // Never a key, digest or token in the metrics.
    const text = [...samples.keys()].join("\n");
    expect(text).not.toContain(issued.key);
    expect(text).not.toContain(TOKEN);
  });

  it("labels routes by template, never by a raw path", () => {
    expect(routeLabel("/api/v1/keys/key_1a2B3c4D5e6F7g8H9i0J/rotate", 200)).toBe("/api/v1/keys/:id/rotate");
    expect(routeLabel("/api/v1/keys/anything", 404)).toBe("unmatched");
    expect(routeLabel("/api/trpc/keys.list,keys.get", 200)).toBe("/api/trpc/:procedure");
    expect(routeLabel("/keys/key_1a2B3c4D5e6F7g8H9i0J", 200)).toBe("page");
    expect(routeLabel("/build/_shared/chunk-ABC.js", 200)).toBe("asset");
  });
});

describe("metrics off, and on a port of their own", () => {
  it("are not served by default", async () => {
    const app = await startApp();
    try {
      expect(app.keyward.metrics).toBeUndefined();
      expect((await fetch(`${app.url}/metrics`)).status).toBe(404);
    } finally {
      await app.close();
    }
  });

  it("with KEYWARD_METRICS_PORT are served only there", async () => {
    const app = await startApp({ env: { KEYWARD_METRICS_PORT: "9464" } });
    const server = createMetricsServer(app.keyward.metrics!, undefined, 0).listen(0, "127.0.0.1");
    try {
      await new Promise<void>((resolve) => server.once("listening", () => resolve()));
      expect((await fetch(`${app.url}/metrics`)).status).toBe(404);
      const port = (server.address() as AddressInfo).port;
      const scraped = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(scraped.status).toBe(200);
      expect(parseExposition(await scraped.text()).size).toBeGreaterThan(10);
      expect((await fetch(`http://127.0.0.1:${port}/api/health`)).status).toBe(404);
    } finally {
      server.close();
      await app.close();
    }
  });
});
