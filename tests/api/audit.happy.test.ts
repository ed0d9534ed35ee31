import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, setup, type Fixture } from "./support";
import { expectEvery } from "../support/expect";

describe("GET /api/v1/audit and /api/v1/audit/export", () => {
  let f: Fixture;
  let createdId: string;
  beforeAll(async () => {
    f = await setup();
    const created = await call<{ apiKey: { id: string } }>(f.app, "/api/v1/keys", { key: f.memberKey, method: "POST", body: { name: "via rest", scopes: ["read"] }, headers: { "User-Agent": "audit-happy/1" } });
    createdId = created.body.apiKey.id;
    await call(f.app, `/api/v1/keys/${createdId}`, { key: f.memberKey, method: "DELETE" });
  });
  afterAll(() => f?.close());

  it("shows a REST action with the key it came through, the address and the request id", async () => {
    const response = await call<{ data: Record<string, unknown>[]; nextCursor: string | null }>(f.app, `/api/v1/audit?targetId=${createdId}`, { key: f.adminKey });
    expect(response.status).toBe(200);
    expect(response.body.data.map((e) => e.action)).toEqual(["key.revoked", "key.created"]);
    const created = response.body.data[1]!;
    expect(created).toMatchObject({ actorType: "api_key", actorId: f.member.id, actorEmail: f.member.email, targetType: "api_key", userAgent: "audit-happy/1" });
    expect(created.actorKeyId).toMatch(/^key_/);
    expect(created.clientIp).toBeTruthy();
    expect(created.requestId).toBeTruthy();
  });

  it("pages with limit and cursor", async () => {
    const first = await call<{ data: { id: string }[]; nextCursor: string }>(f.app, "/api/v1/audit?limit=2", { key: f.adminKey });
    expect(first.body.data).toHaveLength(2);
    const second = await call<{ data: { id: string }[] }>(f.app, `/api/v1/audit?limit=2&cursor=${first.body.nextCursor}`, { key: f.adminKey });
    expect(second.body.data[0]!.id).not.toBe(first.body.data[1]!.id);
  });

  it("exports NDJSON by default and CSV on request, as downloads", async () => {
    const ndjson = await fetch(`${f.app.url}/api/v1/audit/export?action=key.*`, { headers: { Authorization: `Bearer ${f.adminKey}` } });
    expect(ndjson.status).toBe(200);
    expect(ndjson.headers.get("content-type")).toBe("application/x-ndjson");
    expect(ndjson.headers.get("content-disposition")).toMatch(/^attachment; filename="keyward-audit-.*\.ndjson"$/);
    const entries = (await ndjson.text()).trim().split("\n").map((line) => JSON.parse(line) as { action: string });
    expect(entries.length).toBeGreaterThanOrEqual(6);
    expectEvery(entries, (e) => e.action.startsWith("key."));

    const csv = await fetch(`${f.app.url}/api/v1/audit/export?format=csv&targetId=${createdId}`, { headers: { Authorization: `Bearer ${f.adminKey}` } });
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const lines = (await csv.text()).trimEnd().split("\r\n");
    expect(lines[0]!.startsWith("id,occurredAt,")).toBe(true);
    expect(lines).toHaveLength(3);
  });
});
