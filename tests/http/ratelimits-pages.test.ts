import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system, createUser, TEST_PASSWORD } from "../support/keyward";
import { login, startApp, type RunningApp } from "../support/server";

/** Named rate limits on the key page, the issue-key form and the identity page: saved, audited, refused by the row or by KEYWARD_MAX_RATE_LIMIT. */
describe("named rate limits in the dashboard", () => {
  let app: RunningApp;
  let cookie: string;
  let member: Awaited<ReturnType<typeof createUser>>;
  let apiId: string;

  beforeAll(async () => {
    app = await startApp({ env: { KEYWARD_MAX_RATE_LIMIT: "1000/60" } });
    member = await createUser(app.keyward, "member");
    cookie = await login(app, member.email, TEST_PASSWORD);
    apiId = (await app.keyward.apis.create(member.actor, { name: "Limited", prefix: "limited", defaults: { rateLimit: { requests: 50, windowSeconds: 60 } } })).id;
  });
  afterAll(() => app?.close());

  /** Posts form fields (a list value repeats the field, as the editor's rows do). */
  const post = (path: string, route: string, fields: Record<string, string | string[]>) => {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) for (const one of [value].flat()) body.append(name, one);
    return fetch(`${app.url}${path}?_data=${encodeURIComponent(route)}`, {
      method: "POST",
      headers: { Cookie: cookie, Origin: app.url, "Content-Type": "application/x-www-form-urlencoded" },
      body,
    });
  };
  /** The editor's rows as form fields. */
  const rows = (...limits: [string, string, string][]) => ({
    ratelimitsEditor: "1",
    ratelimitName: limits.map(([name]) => name),
    ratelimitLimit: limits.map(([, limit]) => limit),
    ratelimitSeconds: limits.map(([, , seconds]) => seconds),
  });

  it("the key page saves an issued key's limits as a whole, audited, and refuses bad rows by the field", async () => {
    const { apiKey } = await app.keyward.keys.createIssued(member.actor, apiId, { externalId: "page-customer" });
    expect(apiKey.ratelimits).toEqual([{ name: "requests", limit: 50, durationSeconds: 60 }]);
    const edit = (fields: Record<string, string | string[]>) => post(`/keys/${apiKey.id}`, "routes/_app.keys.$id", { intent: "update", field: "ratelimits", ...fields });

    const saved = await edit(rows(["burst", "10", "1"], ["daily", "1000", "86400"], ["", "", ""]));
    expect(saved.status).toBe(200);
    expect(await saved.json()).toMatchObject({ ok: true, field: "ratelimits" });
    const limits = [{ name: "burst", limit: 10, durationSeconds: 1 }, { name: "daily", limit: 1000, durationSeconds: 86_400 }];
    expect((await app.keyward.keys.get(member.actor, apiKey.id)).ratelimits).toEqual(limits);
    const { data } = await app.keyward.audit.forKey(system, { keyId: apiKey.id });
    expect(data.find((entry) => entry.action === "key.updated")?.details).toMatchObject({ changes: { ratelimits: { from: [{ name: "requests", limit: 50, durationSeconds: 60 }], to: limits } } });

    for (const [fields, status, message] of [
      [rows(["burst", "10", "1"], ["daily", "many", "86400"]), 400, "Limit 2 (daily): enter a whole number of requests"],
      [rows(["burst", "10", "1"], ["burst", "5", "60"]), 400, "Each limit needs a name of its own"],
      [rows(["Burst!", "10", "1"]), 400, "Limit 1: Use lowercase letters, digits, _ and -"],
      [rows(["daily", "1001", "86400"]), 422, "KEYWARD_MAX_RATE_LIMIT"],
      // Without the editor's marker the form says nothing about limits: refused, not read as "none".
      [{ ratelimitName: "x" }, 400, "not understood"],
    ] as const) {
      const refused = await edit(fields);
      expect(refused.status, message).toBe(status);
      expect(await refused.json()).toMatchObject({ ok: false, field: "ratelimits", error: expect.stringContaining(message) });
    }
    expect((await app.keyward.keys.get(member.actor, apiKey.id)).ratelimits).toEqual(limits);

    // No rows: no limits.
    expect((await edit(rows())).status).toBe(200);
    expect((await app.keyward.keys.get(member.actor, apiKey.id)).ratelimits).toEqual([]);
  });

  it("the issue-key form takes named limits, and refuses one looser than the bound by its field", async () => {
    const issue = (fields: Record<string, string | string[]>) => post(`/apis/${apiId}/keys/new`, "routes/_app.apis.$id_.keys.new", { expiry: "30", ...fields });
    const issued = await issue({ externalId: "form-customer", ...rows(["requests", "10", "1"], ["daily", "1000", "86400"]) });
    expect(issued.status).toBe(200);
    const { apiKey } = (await issued.json()) as { apiKey: { id: string } };
    expect((await app.keyward.keys.get(member.actor, apiKey.id)).ratelimits).toEqual([
      { name: "requests", limit: 10, durationSeconds: 1 },
      { name: "daily", limit: 1000, durationSeconds: 86_400 },
    ]);
    // Every row removed: a key without limits, not the API's default.
    const unlimited = await issue(rows());
    expect(unlimited.status).toBe(200);
    expect((await app.keyward.keys.get(member.actor, ((await unlimited.json()) as { apiKey: { id: string } }).apiKey.id)).ratelimits).toEqual([]);

    for (const [fields, status, message] of [
      [rows(["daily", "5000", "86400"]), 422, "KEYWARD_MAX_RATE_LIMIT"],
      [rows(["daily", "", "86400"]), 400, "Limit 1 (daily): enter a whole number of requests"],
      [rows(["daily", "10", "0"]), 400, "Limit 1:"],
    ] as const) {
      const refused = await issue(fields);
      expect(refused.status, message).toBe(status);
      expect(((await refused.json()) as { fieldErrors: Record<string, string[]> }).fieldErrors.ratelimits?.join("\n")).toContain(message);
    }
  });

  it("the identity page shows and saves its shared limits, refusing bad ones by the editor", async () => {
    const identity = await app.keyward.identities.create(member.actor, { apiId, externalId: "shared-customer", ratelimits: [{ name: "shared", limit: 100, durationSeconds: 60 }] });
    const page = (await (await fetch(`${app.url}/identities/${identity.id}?_data=${encodeURIComponent("routes/_app.identities.$id")}`, { headers: { Cookie: cookie } })).json()) as { identity: { ratelimits: unknown } };
    expect(page.identity.ratelimits).toEqual([{ name: "shared", limit: 100, durationSeconds: 60 }]);
    const edit = (fields: Record<string, string | string[]>) => post(`/identities/${identity.id}`, "routes/_app.identities.$id", { intent: "ratelimits", ...fields });

    const saved = await edit(rows(["shared", "200", "60"], ["daily", "1000", "86400"]));
    expect(saved.status).toBe(200);
    expect(((await saved.json()) as { message: string }).message).toBe("Shared rate limits of shared-customer saved");
    const limits = [{ name: "shared", limit: 200, durationSeconds: 60 }, { name: "daily", limit: 1000, durationSeconds: 86_400 }];
    expect((await app.keyward.identities.get(member.actor, identity.id)).ratelimits).toEqual(limits);

    for (const [fields, status, message] of [
      [rows(["shared", "2000", "60"]), 422, "KEYWARD_MAX_RATE_LIMIT"],
      [rows(["shared", "x", "60"]), 400, "Limit 1 (shared): enter a whole number of requests"],
      [rows(["a", "1", "1"], ["a", "2", "2"]), 400, "Each limit needs a name of its own"],
    ] as const) {
      const refused = await edit(fields);
      expect(refused.status, message).toBe(status);
      expect(((await refused.json()) as { fieldErrors: string[] }).fieldErrors.join("\n")).toContain(message);
    }
    expect((await app.keyward.identities.get(member.actor, identity.id)).ratelimits).toEqual(limits);
    expect((await edit(rows())).status).toBe(200);
    expect((await app.keyward.identities.get(member.actor, identity.id)).ratelimits).toEqual([]);
  });
});
