import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageRecorder } from "../../app/services/usage.server";
import { createUser, TEST_PASSWORD } from "../support/keyward";
import { login, startApp, type RunningApp } from "../support/server";
import { expectEvery } from "../support/expect";

/** The API and identity pages' loaders and actions over HTTP: field errors, refusals and other members' data. */
describe("API and identity pages", () => {
  let app: RunningApp;
  let cookie: string;
  let member: Awaited<ReturnType<typeof createUser>>;
  let other: Awaited<ReturnType<typeof createUser>>;
  let apiId: string;
  let othersApiId: string;
  let othersIdentityId: string;

  beforeAll(async () => {
    app = await startApp();
    member = await createUser(app.keyward, "member");
    other = await createUser(app.keyward, "member");
    cookie = await login(app, member.email, TEST_PASSWORD);
    apiId = (await app.keyward.apis.create(member.actor, { name: "Orders", prefix: "orders", permissions: ["orders.read", "orders.write"] })).id;
    othersApiId = (await app.keyward.apis.create(other.actor, { name: "Theirs", prefix: "theirs" })).id;
    const { apiKey } = await app.keyward.keys.createIssued(other.actor, othersApiId, { externalId: "their-customer" });
    othersIdentityId = apiKey.identityId!;
  });
  afterAll(() => app?.close());

  const post = (path: string, route: string, fields: Record<string, string>) =>
    fetch(`${app.url}${path}?_data=${encodeURIComponent(route)}`, {
      method: "POST",
      headers: { Cookie: cookie, Origin: app.url, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields),
    });
  const get = (path: string, route: string) => fetch(`${app.url}${path}${path.includes("?") ? "&" : "?"}_data=${encodeURIComponent(route)}`, { headers: { Cookie: cookie } });
  const fieldErrors = async (response: Response) => ((await response.json()) as { fieldErrors: Record<string, string[]> }).fieldErrors;

  const createApi = (fields: Record<string, string>) => post("/apis/new", "routes/_app.apis.new", { name: "Billing", prefix: "billing", permissions: "read\nwrite", ...fields });

  it.each([
    [{ prefix: "kw" }, 400, "prefix", "reserved"],
    [{ prefix: "Bad-Prefix" }, 400, "prefix", "lower-case"],
    [{ prefix: "theirs" }, 409, "prefix", 'The prefix "theirs" is already taken'],
    [{ permissions: "orders read" }, 400, "permissions", "A permission is a name like orders.read"],
    [{ implications: "admin write" }, 400, "implications", 'Line 1: write it as "admin: write, read"'],
    [{ implications: "admin: write" }, 422, "implications", "outside the vocabulary: admin"],
    [{ expiresInDays: "soon" }, 400, "expiresInDays", "whole number of days"],
    [{ expiresInDays: "90", maxTtlDays: "30" }, 400, "expiresInDays", "expiresInDays may not exceed maxTtlDays"],
    [{ rateLimitRequests: "10" }, 400, "rateLimitWindow", "Give the window too"],
    [{ allowedIps: "not-an-ip" }, 400, "allowedIps", "not-an-ip"],
  ])("refuses the create form %j with %i and a message by its field", async (fields, status, field, message) => {
    const response = await createApi(fields);
    expect(response.status).toBe(status);
    expect((await fieldErrors(response))[field]?.join("\n")).toContain(message);
  });

  it("creates an API and redirects to its page", async () => {
    const response = await createApi({ prefix: "billing_live", rateLimitRequests: "100", rateLimitWindow: "60", recoverable: "on" });
    expect(response.status).toBe(204);
    const location = response.headers.get("X-Remix-Redirect")!;
    expect(location).toMatch(/^\/apis\/api_[0-9A-Za-z]{20}$/);
    const api = await app.keyward.apis.get(member.actor, location.split("/")[2]!);
    expect(api).toMatchObject({ prefix: "billing_live", permissions: ["read", "write"], implications: {}, defaults: { rateLimit: { requests: 100, windowSeconds: 60 }, recoverable: true } });
  });

  const issue = (fields: Record<string, string>) => post(`/apis/${apiId}/keys/new`, "routes/_app.apis.$id_.keys.new", { expiry: "30", ...fields });

  it.each([
    [{ meta: "{nope" }, "meta", "Metadata must be valid JSON"],
    [{ meta: "[1]" }, "meta", "Metadata must be a JSON object"],
    [{ grants: "orders.**" }, "grants", "A permission is a name like orders.read"],
    [{ grants: "reports.read" }, "grants", "reports.read"],
    [{ expiry: "sometime" }, "expiry", "Choose when the key expires"],
    [{ allowedIps: "10.0.0.1/8" }, "allowedIps", "host bits set"],
  ])("refuses the issue form %j with a message by its field", async (fields, field, message) => {
    const response = await issue(fields);
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect((await fieldErrors(response))[field]?.join("\n")).toContain(message);
  });

  it("issues a key with permissions to a new identity, the plaintext in the body only", async () => {
    const response = await issue({ externalId: "customer_7", permissions: "orders.read", grants: "orders.*" });
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as { key: string; apiKey: { id: string; identityId: string; permissions: string[] } };
    expect(body.key).toMatch(/^orders_[0-9A-Za-z]{57}$/);
    expect(body.apiKey.permissions).toEqual(["orders.read", "orders.*"]);
    const identity = await app.keyward.identities.get(member.actor, body.apiKey.identityId);
    expect(identity.externalId).toBe("customer_7");

    // Deleting the API or the identity is refused while the key is live, with a message that says so.
    const deleteApi = await post(`/apis/${apiId}`, "routes/_app.apis.$id", { intent: "delete" });
    expect(deleteApi.status).toBe(409);
    expect(((await deleteApi.json()) as { error: string }).error).toContain("still has 1 live key");
    const deleteIdentity = await post(`/identities/${identity.id}`, "routes/_app.identities.$id", { intent: "delete" });
    expect(deleteIdentity.status).toBe(409);
    expect(((await deleteIdentity.json()) as { error: string }).error).toContain("still has 1 live key");

    const revoked = await post(`/identities/${identity.id}`, "routes/_app.identities.$id", { intent: "revoke-keys" });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { message: string }).message).toBe("Revoked 1 key of customer_7");
    expect((await app.keyward.keys.get(member.actor, body.apiKey.id)).status).toBe("revoked");
  });

  it("refuses a settings change that names an unknown implication, and saves a valid one", async () => {
    const refused = await post(`/apis/${apiId}`, "routes/_app.apis.$id", { intent: "update", name: "Orders", permissions: "orders.read\norders.write", implications: "orders.write: orders.delete" });
    // The service checks implications against the vocabulary: 422, by the field.
    expect(refused.status).toBe(422);
    expect((await fieldErrors(refused)).implications?.join()).toContain("orders.delete");
    const saved = await post(`/apis/${apiId}`, "routes/_app.apis.$id", { intent: "update", name: "Orders (prod)", permissions: "orders.read\norders.write", implications: "orders.write: orders.read" });
    expect(saved.status).toBe(200);
    expect(await app.keyward.apis.get(member.actor, apiId)).toMatchObject({ name: "Orders (prod)", implications: { "orders.write": ["orders.read"] } });
  });

  it("edits an issued key's permissions from its page, and refuses one outside the API's vocabulary by the field", async () => {
    const { apiKey } = await app.keyward.keys.createIssued(member.actor, apiId, { externalId: "customer_perm", permissions: ["orders.read"] });
    const edit = (fields: Record<string, string | string[]>) => {
      const body = new URLSearchParams({ intent: "update", field: "permissions" });
      for (const [name, value] of Object.entries(fields)) for (const one of [value].flat()) body.append(name, one);
      return fetch(`${app.url}/keys/${apiKey.id}?_data=${encodeURIComponent("routes/_app.keys.$id")}`, {
        method: "POST",
        headers: { Cookie: cookie, Origin: app.url, "Content-Type": "application/x-www-form-urlencoded" },
        body,
      });
    };
    const page = (await (await get(`/keys/${apiKey.id}`, "routes/_app.keys.$id")).json()) as { vocabulary: string[] };
    expect(page.vocabulary).toEqual(["orders.read", "orders.write"]);

    const saved = await edit({ permissions: ["orders.read", "orders.write"], grants: "orders.*, *" });
    expect(saved.status).toBe(200);
    expect(await saved.json()).toMatchObject({ ok: true, field: "permissions" });
    expect((await app.keyward.keys.get(member.actor, apiKey.id)).permissions).toEqual(["orders.read", "orders.write", "orders.*", "*"]);

    const unknown = await edit({ permissions: "orders.write", grants: "reports.read" });
    expect(unknown.status).toBeGreaterThanOrEqual(400);
    expect(unknown.status).toBeLessThan(500);
    expect(await unknown.json()).toMatchObject({ ok: false, field: "permissions", error: expect.stringContaining("Not permissions of Orders") });
    const malformed = await edit({ grants: "orders.**" });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ ok: false, field: "permissions", error: expect.stringContaining("A permission is a name like orders.read") });
    // Neither refusal changed the key.
    expect((await app.keyward.keys.get(member.actor, apiKey.id)).permissions).toEqual(["orders.read", "orders.write", "orders.*", "*"]);
  });

  it("lists the keys of one kind and API at /keys, page by page", async () => {
    const listed = await app.keyward.apis.create(member.actor, { name: "Listing", prefix: "listing" });
    for (let i = 0; i < 21; i++) await app.keyward.keys.createIssued(member.actor, listed.id, { name: `listed ${i}` });
    // Keys the filter leaves out: a root key and a key of another API.
    await app.keyward.keys.create(member.actor, { name: "root of the member", scopes: ["read"] });
    await app.keyward.keys.createIssued(member.actor, apiId, { name: "of orders" });

    type Page = { keys: { name: string; kind: string; apiId: string | null }[]; nextCursor: string | null; apis: { id: string }[] };
    const list = async (search: string) => (await (await get(`/keys?index&${search}`, "routes/_app.keys._index")).json()) as Page;
    const first = await list(`kind=issued&apiId=${listed.id}`);
    expect(first.apis.map((api) => api.id)).toEqual(expect.arrayContaining([apiId, listed.id]));
    expect(first.apis.map((api) => api.id)).not.toContain(othersApiId);
    expect(first.keys).toHaveLength(20);
    expect(first.nextCursor).not.toBeNull();
    const second = await list(`kind=issued&apiId=${listed.id}&cursor=${encodeURIComponent(first.nextCursor!)}`);
    expect(second.nextCursor).toBeNull();
    const all = [...first.keys, ...second.keys];
    expect(new Set(all.map((key) => key.name))).toEqual(new Set(Array.from({ length: 21 }, (_, i) => `listed ${i}`)));
    expectEvery(all, (key) => key.kind === "issued" && key.apiId === listed.id);

    const roots = await list("kind=root");
    expect(roots.keys.length).toBeGreaterThan(0);
    expectEvery(roots.keys, (key) => key.kind === "root");
    // Another member's API filters to nothing rather than to their keys.
    expect((await list(`apiId=${othersApiId}`)).keys).toEqual([]);
  });

  it("charts recorded verifications by outcome on the API, identity and key pages, once flushed", async () => {
    const api = await app.keyward.apis.create(member.actor, { name: "Metered", prefix: "metered", permissions: ["orders.read"] });
    const { key, apiKey } = await app.keyward.keys.createIssued(member.actor, api.id, { name: "busy key", externalId: "metered_customer", permissions: ["orders.read"] });
    const { key: revokedKey, apiKey: revoked } = await app.keyward.keys.createIssued(member.actor, api.id, { name: "old key", externalId: "metered_customer" });
    await app.keyward.keys.revoke(member.actor, revoked.id);
    const { key: rootKey } = await app.keyward.keys.create(member.actor, { name: "verifier", scopes: ["read"] });
    const verify = async (body: Record<string, unknown>) => {
      const response = await fetch(`${app.url}/api/v1/verify`, { method: "POST", headers: { Authorization: `Bearer ${rootKey}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
      expect(response.status).toBe(200);
      return ((await response.json()) as { code: string }).code;
    };
    for (let i = 0; i < 3; i++) expect(await verify({ key, apiId: api.id, tags: ["GET /orders"] })).toBe("VALID");
    expect(await verify({ key, apiId: api.id, permissions: ["orders.write"] })).toBe("INSUFFICIENT_PERMISSIONS");
    expect(await verify({ key: revokedKey, apiId: api.id })).toBe("REVOKED");
    expect(await verify({ key: revokedKey, apiId: api.id })).toBe("REVOKED");

    type Usage = { granularity: string; points: { total: number }[]; totals: { total: number; outcomes: Record<string, number> } };
    const apiPage = async () => (await (await get(`/apis/${api.id}?g=minute`, "routes/_app.apis.$id")).json()) as { granularity: string; usage: Usage & { topKeys: { keyId: string; total: number; refused: number }[] } };
    // Recorded in memory until a flush (the periodic one may already have run on a slow machine).
    await (app.keyward.usage as UsageRecorder).flush();

    const { granularity, usage } = await apiPage();
    expect(granularity).toBe("minute");
    // The last hour by minute: 60 buckets, 61 when the hour starts mid-minute.
    expect(usage.points.length).toBeGreaterThanOrEqual(60);
    expect(usage.points.length).toBeLessThanOrEqual(61);
    expect(usage.totals).toEqual({ total: 6, outcomes: expect.objectContaining({ VALID: 3, INSUFFICIENT_PERMISSIONS: 1, REVOKED: 2, RATE_LIMITED: 0 }) });
    expect(usage.points.reduce((sum, point) => sum + point.total, 0)).toBe(6);
    expect(usage.topKeys).toEqual([
      { keyId: apiKey.id, name: "busy key", total: 4, refused: 1 },
      { keyId: revoked.id, name: "old key", total: 2, refused: 2 },
    ]);
    // The same keys by refusals, and their identity by volume and by refusals.
    const lists = usage as unknown as Record<"topKeysByRefusals" | "topIdentities" | "topIdentitiesByRefusals", unknown[]> & { keysNearCreditEnd: unknown[] };
    expect(lists.topKeysByRefusals).toEqual([
      { keyId: revoked.id, name: "old key", total: 2, refused: 2 },
      { keyId: apiKey.id, name: "busy key", total: 4, refused: 1 },
    ]);
    expect(lists.topIdentities).toEqual([{ identityId: apiKey.identityId, externalId: "metered_customer", total: 6, refused: 3 }]);
    expect(lists.topIdentitiesByRefusals).toEqual(lists.topIdentities);
    expect(lists.keysNearCreditEnd).toEqual([]);

    // The identity's page adds up both of its keys; an unknown period falls back to the last 24 hours.
    const identityPage = (await (await get(`/identities/${apiKey.identityId}?g=year`, "routes/_app.identities.$id")).json()) as { granularity: string; usage: Usage };
    expect(identityPage.granularity).toBe("hour");
    expect(identityPage.usage.totals).toEqual({ total: 6, outcomes: expect.objectContaining({ VALID: 3, INSUFFICIENT_PERMISSIONS: 1, REVOKED: 2 }) });

    // The key's page: its own verifications by outcome, and log lines with outcome and tags.
    const keyPage = (await (await get(`/keys/${apiKey.id}`, "routes/_app.keys.$id")).json()) as { usage: { verifications: { totals: Usage["totals"] } }; requests: { outcome: string | null; tags: string[] | null }[] };
    expect(keyPage.usage.verifications.totals).toEqual({ total: 4, outcomes: expect.objectContaining({ VALID: 3, INSUFFICIENT_PERMISSIONS: 1, REVOKED: 0 }) });
    expect(keyPage.requests.map((entry) => entry.outcome).sort()).toEqual(["INSUFFICIENT_PERMISSIONS", "VALID", "VALID", "VALID"]);
    expectEvery(keyPage.requests.filter((entry) => entry.outcome === "VALID"), (entry) => entry.tags?.join() === "GET /orders");
  });

  it("answers 404 for another member's API and identity, on every page and action", async () => {
    expect((await get(`/apis/${othersApiId}`, "routes/_app.apis.$id")).status).toBe(404);
    expect((await get(`/apis/${othersApiId}/keys/new`, "routes/_app.apis.$id_.keys.new")).status).toBe(404);
    expect((await post(`/apis/${othersApiId}/keys/new`, "routes/_app.apis.$id_.keys.new", { expiry: "30", externalId: "intruder" })).status).toBe(404);
    expect((await post(`/apis/${othersApiId}`, "routes/_app.apis.$id", { intent: "delete" })).status).toBe(404);
    expect((await get(`/identities/${othersIdentityId}`, "routes/_app.identities.$id")).status).toBe(404);
    expect((await post(`/identities/${othersIdentityId}`, "routes/_app.identities.$id", { intent: "revoke-keys" })).status).toBe(404);
    expect((await get("/apis/not-an-id", "routes/_app.apis.$id")).status).toBe(404);
    // Their data appears in no list of ours.
    const apis = (await (await get("/apis", "routes/_app.apis._index")).json()) as { apis: { id: string }[] };
    expect(apis.apis.map((api) => api.id)).not.toContain(othersApiId);
    const identities = (await (await get(`/identities?api=${othersApiId}`, "routes/_app.identities._index")).json()) as { identities: unknown[] };
    expect(identities.identities).toEqual([]);
    expect((await app.keyward.keys.list(other.actor, { apiId: othersApiId })).data).toHaveLength(1);
  });
});
