import { sql, type SQL } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testKeyward, type TestKeyward } from "../support/keyward";

/**
 * The newest-first lists must be read from their indexes, not sorted: `ORDER BY x DESC` sorts NULLS
 * FIRST, so an index built `DESC NULLS LAST` (drizzle's default for `.desc()`) cannot serve it, and
 * each page of the keys list scanned and sorted a million rows. Checked with sequential and bitmap scans
 * disabled, so the plan shows whether an index *can* answer the order.
 */
let kw: TestKeyward;
beforeAll(async () => {
  kw = await testKeyward();
});
afterAll(async () => {
  await kw?.dispose();
});

async function plan(query: SQL): Promise<string> {
  return kw.database.db.transaction(async (tx) => {
    await tx.execute(sql`set local enable_seqscan = off`);
    await tx.execute(sql`set local enable_bitmapscan = off`);
    const result = await tx.execute(sql`explain ${query}`);
    const rows = (Array.isArray(result) ? result : (result as unknown as { rows: unknown[] }).rows) as { "QUERY PLAN": string }[];
    return rows.map((row) => row["QUERY PLAN"]).join("\n");
  });
}

describe("newest-first pages are served by an index, with no sort", () => {
  it.each([
    ["every key", sql`select id from api_keys order by created_at desc, id desc limit 21`, "api_keys_created_idx"],
    ["every key, oldest first", sql`select id from api_keys order by created_at asc, id asc limit 21`, "api_keys_created_idx"],
    ["one owner's keys", sql`select id from api_keys where owner_id = 'usr_x' order by created_at desc, id desc limit 21`, "api_keys_owner_created_idx"],
    ["the audit trail", sql`select id from audit_events order by occurred_at desc, id desc limit 51`, "audit_events_occurred_idx"],
    ["a key's audit trail", sql`select id from audit_events where target_id = 'key_x' order by occurred_at desc limit 51`, "audit_events_target_idx"],
    ["security events", sql`select id from security_events order by occurred_at desc, id desc limit 51`, "security_events_occurred_idx"],
    ["a key's requests", sql`select id from request_log where key_id = 'key_x' order by occurred_at desc, id desc limit 51`, "request_log_key_occurred_idx"],
    ["alerts", sql`select id from alerts order by first_fired_at desc, id desc limit 51`, "alerts_first_fired_idx"],
  ])("%s", async (_name, query, index) => {
    const text = await plan(query);
    expect(text).toContain(index);
    expect(text).not.toMatch(/\bSort\b/);
  });
});
