import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system } from "../support/keyward";
import { call, setup, type Fixture } from "./support";

interface Page<T> {
  data: T[];
  nextCursor: string | null;
}
type EventRow = { id: string; kind: string; keyId: string | null; clientIp: string | null; count: number; severity: string };
type AlertRow = { id: string; ruleId: string; subject: string; status: string; ackedBy: string | null; ackedAt: string | null; resolvedBy: string | null; resolvedAt: string | null };

describe("GET /api/v1/security-events, /api/v1/alerts, POST /api/v1/alerts/{id}/ack|resolve", () => {
  let f: Fixture;
  let revokedId: string;
  beforeAll(async () => {
    f = await setup();
    const { key, apiKey } = await f.createKey(f.member.id, { name: "to revoke" });
    revokedId = apiKey.id;
    await f.app.keyward.keys.revoke(system, apiKey.id);
    // Two refused uses of the revoked key: one aggregated event row, and the revoked_key_used alert.
    for (let i = 0; i < 2; i++) expect((await call(f.app, "/api/v1/me", { key })).status).toBe(401);
    await f.app.keyward.securityEvents.flush();
  });
  afterAll(() => f.close());

  it("lists security events newest first, filtered by kind and key, without the presented key", async () => {
    const response = await call<Page<EventRow>>(f.app, `/api/v1/security-events?kind=key_revoked&keyId=${revokedId}`, { key: f.adminKey });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.body.data).toMatchObject([{ kind: "key_revoked", keyId: revokedId, clientIp: "127.0.0.1", count: 2, severity: "warning" }]);
    expect(response.body.data[0]).not.toHaveProperty("aggregateKey");
    expect(response.text).not.toMatch(/kw_[0-9A-Za-z]{61}/);
  });

  it("pages with limit and an opaque cursor", async () => {
    // A few more distinct rows: unknown keys from the same address.
    for (let i = 0; i < 3; i++) await call(f.app, "/api/v1/me", { key: `kw_${"x".repeat(i + 1)}` });
    await f.app.keyward.securityEvents.flush();
    const first = await call<Page<EventRow>>(f.app, "/api/v1/security-events?limit=1", { key: f.adminKey });
    expect(first.body.data).toHaveLength(1);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call<Page<EventRow>>(f.app, `/api/v1/security-events?limit=1&cursor=${encodeURIComponent(first.body.nextCursor!)}`, { key: f.adminKey });
    expect(second.body.data).toHaveLength(1);
    expect(second.body.data[0]!.id).not.toBe(first.body.data[0]!.id);
  });

  it("lists the alert the revoked key opened, then acknowledges and resolves it, recording who and when", async () => {
    const listed = await call<Page<AlertRow>>(f.app, "/api/v1/alerts?status=open", { key: f.adminKey });
    expect(listed.status).toBe(200);
    const alert = listed.body.data.find((row) => row.ruleId === "revoked_key_used" && row.subject === revokedId);
    expect(alert).toMatchObject({ status: "open", ackedBy: null });

    const acked = await call<AlertRow>(f.app, `/api/v1/alerts/${alert!.id}/ack`, { key: f.adminKey, method: "POST" });
    expect(acked.status).toBe(200);
    expect(acked.body).toMatchObject({ id: alert!.id, status: "acknowledged", ackedBy: f.admin.id });
    expect(Date.parse(acked.body.ackedAt!)).toBeGreaterThan(Date.now() - 60_000);
    expect((await call<Page<AlertRow>>(f.app, "/api/v1/alerts?status=open", { key: f.adminKey })).body.data.map((row) => row.id)).not.toContain(alert!.id);

    const resolved = await call<AlertRow>(f.app, `/api/v1/alerts/${alert!.id}/resolve`, { key: f.adminKey, method: "POST" });
    expect(resolved.body).toMatchObject({ status: "resolved", resolvedBy: f.admin.id, ackedBy: f.admin.id });
    const byStatus = await call<Page<AlertRow>>(f.app, "/api/v1/alerts?status=resolved", { key: f.adminKey });
    expect(byStatus.body.data.map((row) => row.id)).toContain(alert!.id);
  });
});
