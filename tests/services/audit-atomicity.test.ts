import { eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, auditEvents, users } from "../../db/schema";
import { createUser, system, testKeyward, type TestKeyward } from "../support/keyward";

/**
 * The audit trail's transactional guarantee, proven by making the database refuse at two moments:
 * when the entry is inserted (the change must not survive), and at COMMIT, after both the change and
 * the entry were written (neither may survive).
 */
let kw: TestKeyward;
let admin: Awaited<ReturnType<typeof createUser>>;

beforeAll(async () => {
  kw = await testKeyward();
  admin = await createUser(kw, "admin");
  const db = kw.database.db;
  await db.execute(sql`create table test_fail_audit (action text primary key, at_commit boolean not null)`);
  await db.execute(sql`
    create function test_refuse_audit() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from test_fail_audit where action = new.action and at_commit = (tg_when = 'AFTER')) then
        raise exception 'forced failure of audit entry %', new.action;
      end if;
      return new;
    end $$`);
  await db.execute(sql`create trigger test_refuse_audit_now before insert on audit_events for each row execute function test_refuse_audit()`);
  await db.execute(sql`create constraint trigger test_refuse_audit_at_commit after insert on audit_events deferrable initially deferred for each row execute function test_refuse_audit()`);
});

afterEach(async () => {
  await kw.database.db.execute(sql`delete from test_fail_audit`);
});

afterAll(async () => {
  await kw?.dispose();
});

const failAudit = (action: string, atCommit: boolean) => kw.database.db.execute(sql`insert into test_fail_audit values (${action}, ${atCommit})`);
const entriesAbout = (targetId: string) => kw.database.db.select({ action: auditEvents.action }).from(auditEvents).where(eq(auditEvents.targetId, targetId));

describe.each([
  ["when the entry is written", false],
  ["at commit, after both were written", true],
])("a forced failure %s", (_when, atCommit) => {
  it("leaves no created key and no entry", async () => {
    await failAudit("key.created", atCommit);
    const name = `atomic-create-${atCommit}`;
    await expect(kw.keys.create(admin.actor, { name, scopes: ["read"] })).rejects.toThrow();
    expect(await kw.database.db.select().from(apiKeys).where(eq(apiKeys.name, name))).toEqual([]);
    expect(await kw.database.db.select().from(auditEvents).where(sql`${auditEvents.details}->>'name' = ${name}`)).toEqual([]);
  });

  it("keeps an update, a revoke and a rotation from happening without their entries", async () => {
    const name = `atomic-change-${atCommit}`;
    const { apiKey } = await kw.keys.create(admin.actor, { name, scopes: ["read"] });
    await failAudit("key.updated", atCommit);
    await failAudit("key.revoked", atCommit);
    await failAudit("key.rotated", atCommit);
    await expect(kw.keys.update(admin.actor, apiKey.id, { name: "renamed" })).rejects.toThrow();
    await expect(kw.keys.revoke(admin.actor, apiKey.id)).rejects.toThrow();
    await expect(kw.keys.rotate(admin.actor, apiKey.id, { gracePeriodSeconds: 60 })).rejects.toThrow();
    const after = await kw.keys.get(system, apiKey.id);
    expect(after).toMatchObject({ name, status: "active", expiresAt: apiKey.expiresAt });
    // The rotation's new key did not survive either.
    expect((await kw.keys.list(system, { q: name, limit: 100 })).data).toHaveLength(1);
    expect(await entriesAbout(apiKey.id)).toEqual([{ action: "key.created" }]);
  });

  it("keeps a user's creation and role change from happening without their entries", async () => {
    await failAudit("user.created", atCommit);
    const email = `atomic-${atCommit}@example.test`;
    await expect(kw.users.create(system, { email, password: "correct horse battery staple" })).rejects.toThrow();
    expect(await kw.database.db.select().from(users).where(eq(users.email, email))).toEqual([]);

    await kw.database.db.execute(sql`delete from test_fail_audit`);
    const member = await createUser(kw, "member");
    await failAudit("user.role_changed", atCommit);
    await expect(kw.users.setRole(admin.actor, member.id, "admin")).rejects.toThrow();
    expect((await kw.users.get(system, member.id)).role).toBe("member");
    expect(await entriesAbout(member.id)).toEqual([{ action: "user.created" }]);
  });
});
