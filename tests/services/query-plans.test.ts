import { sql, type SQLWrapper } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionActor, type Actor } from "../../app/services/actor.server";
import { alertsQuery, securityEventsInput, securityEventsPageQuery } from "../../app/services/alerts.server";
import { listApisQuery } from "../../app/services/apis.server";
import { auditPageQuery } from "../../app/services/audit.server";
import { listIdentitiesQuery } from "../../app/services/identities.server";
import { listKeysQuery } from "../../app/services/keys.server";
import { requestLogPageQuery } from "../../app/services/usage.server";
import { encodeCursor } from "../../app/lib/cursor";
import { listApisInput, listIdentitiesInput } from "../../app/lib/apis-schemas";
import { listKeysInput, type ListKeysInput } from "../../app/lib/key-schemas";
import { system, testKeyward, type TestKeyward } from "../support/keyward";

/**
 * The newest-first lists must be read from their indexes, not sorted: `ORDER BY x DESC` sorts NULLS
 * FIRST, so an index built `DESC NULLS LAST` (drizzle's default for `.desc()`) cannot serve it, and
 * each page of the keys list scanned and sorted a million rows. The queries are the services' own
 * (built by the functions the services call), so a change to one is checked here. Checked with
 * sequential and bitmap scans disabled, so the plan shows whether an index *can* answer the order.
 */
let kw: TestKeyward;
beforeAll(async () => {
  kw = await testKeyward();
});
afterAll(async () => {
  await kw?.dispose();
});

/** The plan of `query` with its parameters bound, as the service would run it. */
async function plan(query: SQLWrapper): Promise<string> {
  return kw.database.db.transaction(async (tx) => {
    await tx.execute(sql`set local enable_seqscan = off`);
    await tx.execute(sql`set local enable_bitmapscan = off`);
    const result = await tx.execute(sql`explain ${query}`);
    const rows = (Array.isArray(result) ? result : (result as unknown as { rows: unknown[] }).rows) as { "QUERY PLAN": string }[];
    return rows.map((row) => row["QUERY PLAN"]).join("\n");
  });
}

const member = sessionActor({ id: "usr_x", role: "member" });
const API_ID = "api_00000000000000000000";
const keysPage = (actor: Actor, input: ListKeysInput) => () => listKeysQuery(kw.database.db, actor, listKeysInput.parse(input), new Date());

describe("newest-first pages are served by an index, with no sort", () => {
  it.each<[string, () => SQLWrapper, string]>([
    ["every key", keysPage(system, {}), "api_keys_created_idx"],
    ["every key, oldest first", keysPage(system, { order: "oldest" }), "api_keys_created_idx"],
    ["every key, a later page", keysPage(system, { cursor: encodeCursor(new Date(), "key_x") }), "api_keys_created_idx"],
    ["one owner's keys", keysPage(member, {}), "api_keys_owner_created_idx"],
    ["one API's keys", keysPage(system, { apiId: API_ID }), "api_keys_api_created_idx"],
    ["one member's APIs", () => listApisQuery(kw.database.db, member, listApisInput.parse({})), "apis_owner_created_idx"],
    ["one API's identities", () => listIdentitiesQuery(kw.database.db, system, listIdentitiesInput.parse({ apiId: API_ID })), "identities_api_created_idx"],
    ["the audit trail", () => auditPageQuery(kw.database.db, {}, 50, undefined), "audit_events_occurred_idx"],
    ["a key's audit trail", () => auditPageQuery(kw.database.db, { targetId: "key_x" }, 50, undefined), "audit_events_target_idx"],
    ["security events", () => securityEventsPageQuery(kw.database.db, system, securityEventsInput.parse({})), "security_events_occurred_idx"],
    ["a key's requests", () => requestLogPageQuery(kw.database.db, "key_x", 50, undefined), "request_log_key_occurred_idx"],
    ["alerts", () => alertsQuery(kw.database.db, undefined, system, 51), "alerts_first_fired_idx"],
  ])("%s", async (_name, query, index) => {
    const text = await plan(query());
    expect(text).toContain(index);
    expect(text).not.toMatch(/\bSort\b/);
  });
});
