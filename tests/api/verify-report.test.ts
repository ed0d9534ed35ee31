import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestLog } from "../../db/schema";
import { sessionActor } from "../../app/services/actor.server";
import type { UsageRecorder } from "../../app/services/usage.server";
import { expectEvery } from "../support/expect";
import { system } from "../support/keyward";
import { call, expectProblem, setup, type Fixture } from "./support";

/**
 * POST /api/v1/verify/report (and tRPC reportVerifications): what a guard admitted from its cache
 * lands in the key's usage exactly like verifications, and only for keys the root key may manage.
 */
describe("POST /api/v1/verify/report", () => {
  let f: Fixture;
  let apiId: string;
  let otherApiId: string;
  let strangerApiId: string;
  const issue = (api = apiId, input: Parameters<Fixture["app"]["keyward"]["keys"]["createIssued"]>[2] = {}) => f.app.keyward.keys.createIssued(system, api, input);
  const report = (admissions: unknown, key = f.memberReadKey) => call(f.app, "/api/v1/verify/report", { key, method: "POST", body: { admissions } });
  const flush = () => (f.app.keyward.usage as UsageRecorder).flush();
  const verifications = async (keyId: string) => {
    await flush();
    return (await f.app.keyward.usageReports.series(system, keyId, { granularity: "day" })).verifications!.totals;
  };

  beforeAll(async () => {
    f = await setup();
    const member = sessionActor({ id: f.member.id, role: "member" });
    apiId = (await f.app.keyward.apis.create(member, { name: "Reported", prefix: "reported" })).id;
    otherApiId = (await f.app.keyward.apis.create(member, { name: "Other", prefix: "reportedtwo" })).id;
    strangerApiId = (await f.app.keyward.apis.create(sessionActor({ id: f.other.id, role: "member" }), { name: "Stranger's", prefix: "strangers" })).id;
  });
  afterAll(() => f.close());

  it("records each admission as a VALID verification: counts for key, API and identity, last use, request count, one log line each", async () => {
    const { apiKey } = await issue(apiId, { externalId: "reported-customer" });
    const at = new Date(Date.now() - 5_000).toISOString();
    const response = await report([
      { keyId: apiKey.id, at, ip: "198.51.100.7", count: 5 },
      { keyId: apiKey.id, at, count: 2 },
    ]);
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ recorded: 7 });

    expect(await verifications(apiKey.id)).toMatchObject({ total: 7, outcomes: { VALID: 7 } });
    const api = await f.app.keyward.usageReports.apiUsage(system, apiId, { granularity: "day" });
    expect(api.totals).toMatchObject({ total: 7, outcomes: { VALID: 7 } });
    const identity = await f.app.keyward.usageReports.identityUsage(system, apiKey.identityId!, { granularity: "day" });
    expect(identity.totals.total).toBe(7);
    const key = await f.app.keyward.keys.get(system, apiKey.id);
    expect(key).toMatchObject({ requestCount: 7, lastUsedAt: at, lastUsedIp: "198.51.100.7" });
    const lines = await f.app.keyward.database.db.select().from(requestLog).where(eq(requestLog.keyId, apiKey.id));
    expect(lines).toHaveLength(7);
    expect(new Set(lines.map((line) => `${line.method} ${line.path} ${line.outcome} ${line.durationMs}`))).toEqual(new Set(["POST /api/v1/verify/report VALID 0"]));
    expectEvery(lines, (line) => line.rootKeyId !== null);
  });

  it("takes the largest report a guard sends: 400 entries with the longest addresses, 10 000 admissions, within the body limit", async () => {
    const { apiKey } = await issue();
    const at = new Date().toISOString();
    const admissions = Array.from({ length: 400 }, () => ({ keyId: apiKey.id, at, ip: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", count: 25 }));
    const response = await report(admissions);
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ recorded: 10_000 });
    expect(await verifications(apiKey.id)).toMatchObject({ total: 10_000 });
  });

  it("takes a time in the future as now, so a guard's fast clock cannot move last use ahead", async () => {
    const { apiKey } = await issue();
    const before = Date.now();
    expect((await report([{ keyId: apiKey.id, at: new Date(Date.now() + 3_600_000).toISOString() }])).status).toBe(200);
    await flush();
    const { lastUsedAt } = await f.app.keyward.keys.get(system, apiKey.id);
    expect(Date.parse(lastUsedAt!)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(lastUsedAt!)).toBeLessThanOrEqual(Date.now());
  });

  it("refuses the whole report, recording nothing, when one key is another owner's, a root key, unknown, or outside a restricted root key's APIs", async () => {
    const { apiKey: mine } = await issue();
    const { apiKey: theirs } = await issue(strangerApiId);
    const { apiKey: rootKey } = await f.createKey(f.member.id, { scopes: ["read"] });
    const at = new Date().toISOString();
    for (const foreign of [theirs.id, rootKey.id, "key_00000000000000000000"]) {
      const response = await report([
        { keyId: mine.id, at, count: 3 },
        { keyId: foreign, at },
      ]);
      expectProblem(response, 404, "not_found");
    }
    const { key: restricted } = await f.createKey(f.member.id, { scopes: ["read"], apiIds: [otherApiId] });
    expectProblem(await report([{ keyId: mine.id, at }], restricted), 404, "not_found");
    // The other owner's own root key may report its key; nothing of the refused reports was kept.
    expect((await report([{ keyId: theirs.id, at }], f.otherKey)).status).toBe(200);
    expect(await verifications(mine.id)).toMatchObject({ total: 0 });
    expect(await verifications(theirs.id)).toMatchObject({ total: 1 });
  });

  it("refuses an issued key as the caller, and a caller without a key", async () => {
    const { key, apiKey } = await issue();
    const body = [{ keyId: apiKey.id, at: new Date().toISOString() }];
    expectProblem(await report(body, key), 403, "not_a_root_key");
    expectProblem(await call(f.app, "/api/v1/verify/report", { method: "POST", body: { admissions: body } }), 401, "missing_credentials");
    expect(await verifications(apiKey.id)).toMatchObject({ total: 0 });
  });

  it("answers 422 validation_failed for a malformed or oversized report", async () => {
    const { apiKey } = await issue();
    const at = new Date().toISOString();
    const bad: [string, unknown][] = [
      ["no admissions", []],
      ["a count of 0", [{ keyId: apiKey.id, at, count: 0 }]],
      ["a malformed key id", [{ keyId: "not-a-key", at }]],
      ["a time that is no time", [{ keyId: apiKey.id, at: "yesterday" }]],
      ["an address that is none", [{ keyId: apiKey.id, at, ip: "999.1.1.1" }]],
      ["a field the schema lacks", [{ keyId: apiKey.id, at, outcome: "RATE_LIMITED" }]],
      ["more than 10 000 admissions", [{ keyId: apiKey.id, at, count: 6_000 }, { keyId: apiKey.id, at, count: 6_000 }]],
      ["more than 400 entries", Array.from({ length: 401 }, () => ({ keyId: apiKey.id, at }))],
    ];
    for (const [what, admissions] of bad) {
      const response = await report(admissions);
      expect(response.status, what).toBe(422);
      expectProblem(response, 422, "validation_failed");
    }
    expectProblem(await call(f.app, "/api/v1/verify/report", { key: f.memberReadKey, method: "POST", body: "{" }), 400, "invalid_json");
    expect(await verifications(apiKey.id)).toMatchObject({ total: 0 });
  });

  it("tRPC reportVerifications records the same way and refuses another owner's key alike", async () => {
    const { apiKey } = await issue();
    const { apiKey: theirs } = await issue(strangerApiId);
    const trpc = (admissions: unknown) =>
      call<{ result?: { data: unknown }; error?: { data: { keywardCode: string } } }>(f.app, "/api/trpc/reportVerifications", { key: f.memberReadKey, method: "POST", body: { admissions } });
    const at = new Date().toISOString();
    expect((await trpc([{ keyId: apiKey.id, at, count: 4 }])).body.result).toEqual({ data: { recorded: 4 } });
    const refused = await trpc([{ keyId: theirs.id, at }]);
    expect(refused.status).toBe(404);
    expect(refused.body.error!.data.keywardCode).toBe("not_found");
    expect(await verifications(apiKey.id)).toMatchObject({ total: 4, outcomes: { VALID: 4 } });
    expect(await verifications(theirs.id)).toMatchObject({ total: 0 });
  });
});
