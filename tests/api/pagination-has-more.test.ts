import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageRecorder } from "../../app/services/usage.server";
import { call, setup, type Fixture } from "./support";

type Page = { data: unknown[]; nextCursor: string | null; hasMore: boolean };

/** Every REST list answers `hasMore`, true exactly when `nextCursor` is not null. */
describe("hasMore on every REST list", () => {
  let f: Fixture;
  let apiId: string | undefined;
  beforeAll(async () => {
    f = await setup();
    for (const prefix of ["paged", "second"]) {
      const api = await call<{ id: string }>(f.app, "/api/v1/apis", { key: f.adminKey, method: "POST", body: { name: prefix, prefix } });
      expect(api.status, api.text).toBe(201);
      apiId ??= api.body.id;
    }
    for (const externalId of ["cust-a", "cust-b"]) {
      const issued = await call(f.app, `/api/v1/apis/${apiId}/keys`, { key: f.adminKey, method: "POST", body: { externalId } });
      expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    }
    // Two refused requests of the read-only key: two entries in its request log; two kinds of security event.
    await call(f.app, "/api/v1/keys", { key: f.memberReadKey, method: "POST", body: { name: "x", scopes: ["read"] } });
    await call(f.app, "/api/v1/audit", { key: f.memberReadKey });
    await call(f.app, "/api/v1/me?api_key=leaked", { key: f.memberReadKey });
    await f.app.keyward.securityEvents.flush();
    await (f.app.keyward.usage as UsageRecorder).flush();
  });
  afterAll(() => f.close());

  async function pages(path: string): Promise<[Page, Page]> {
    const separator = path.includes("?") ? "&" : "?";
    const first = await call<Page>(f.app, `${path}${separator}limit=1`, { key: f.adminKey });
    expect(first.status, first.text).toBe(200);
    let last = first.body;
    let cursor = first.body.nextCursor;
    // Walk to the end: every page keeps hasMore ⇔ nextCursor.
    while (cursor !== null) {
      const page = await call<Page>(f.app, `${path}${separator}limit=1&cursor=${encodeURIComponent(cursor)}`, { key: f.adminKey });
      expect(page.status, page.text).toBe(200);
      expect(page.body.hasMore).toBe(page.body.nextCursor !== null);
      last = page.body;
      cursor = page.body.nextCursor;
    }
    return [first.body, last];
  }

  it.each([
    ["keys", () => "/api/v1/keys"],
    ["APIs", () => "/api/v1/apis"],
    ["an API's keys", () => `/api/v1/apis/${apiId}/keys`],
    ["identities", () => "/api/v1/identities"],
    ["audit", () => "/api/v1/audit"],
    ["security events", () => "/api/v1/security-events"],
  ])("%s: true on a first page with more, false on the last", async (_name, path) => {
    const [first, last] = await pages(path());
    expect(first.data).toHaveLength(1);
    expect(first.hasMore).toBe(true);
    expect(first.nextCursor).not.toBeNull();
    expect(last.hasMore).toBe(false);
    expect(last.nextCursor).toBeNull();
  });

  it("a key's request log", async () => {
    const keys = await call<{ data: { id: string; name: string }[] }>(f.app, "/api/v1/keys?limit=100", { key: f.adminKey });
    const readKey = keys.body.data.find((key) => key.name === "member read key")!;
    const [first, last] = await pages(`/api/v1/keys/${readKey.id}/requests`);
    expect(first.hasMore).toBe(true);
    expect(last.hasMore).toBe(false);
  });

  it("alerts: a single page says there is no more", async () => {
    const page = await call<Page>(f.app, "/api/v1/alerts", { key: f.adminKey });
    expect(page.status).toBe(200);
    expect(page.body.hasMore).toBe(false);
    expect(page.body.nextCursor).toBeNull();
  });

  it("tRPC lists carry it too (the SDK's types have it)", async () => {
    const response = await fetch(`${f.app.url}/api/trpc/keys.list?input=${encodeURIComponent(JSON.stringify({ limit: 1 }))}`, { headers: { Authorization: `Bearer ${f.adminKey}` } });
    const body = (await response.json()) as { result: { data: Page } };
    expect(body.result.data.hasMore).toBe(true);
  });
});
