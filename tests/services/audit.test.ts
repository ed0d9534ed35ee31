import { asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditEvents } from "../../db/schema";
import type { Actor } from "../../app/services/actor.server";
import { ManualClock } from "../../app/services/clock.server";
import { createUser, system, TEST_PASSWORD, testKeyward, type TestKeyward } from "../support/keyward";

const clock = new ManualClock(new Date("2026-11-25T09:00:00Z"));
let kw: TestKeyward;
let admin: Awaited<ReturnType<typeof createUser>>;
let member: Awaited<ReturnType<typeof createUser>>;
/** Every plaintext key any test here saw. */
const plaintexts: string[] = [];

beforeAll(async () => {
  kw = await testKeyward({ clock });
  admin = await createUser(kw, "admin");
  member = await createUser(kw, "member");
});

afterAll(async () => {
  await kw?.dispose();
});

const meta = { ip: "203.0.113.9", userAgent: "audit-test/1.0", requestId: "req-audit-1" };
const withMeta = (actor: Actor): Actor => ({ ...actor, meta });

/** The audit entries about one target, oldest first; the clock moves a second per action so the order is certain. */
const entriesFor = (targetId: string) =>
  kw.database.db.select().from(auditEvents).where(eq(auditEvents.targetId, targetId)).orderBy(asc(auditEvents.occurredAt));

/** Every row of a table as Postgres prints it (`row::text`), so no column escapes the check. */
async function dumpTable(table: "api_keys" | "audit_events" | "users" | "sessions"): Promise<string[]> {
  const result = await kw.database.db.execute(sql`select t::text as row from ${sql.identifier(table)} t`);
  const rows = (Array.isArray(result) ? result : (result as unknown as { rows: unknown[] }).rows) as { row: string }[];
  return rows.map((r) => r.row);
}

describe("audit entries for key actions", () => {
  it("records each action once, with the acting user, the request it came from, and the key as target", async () => {
    const actor = withMeta(member.actor);
    const step = () => clock.advance(1000);
    const { key, apiKey } = await kw.keys.create(actor, { name: "audited", scopes: ["read"], recoverable: true });
    plaintexts.push(key);
    step();
    await kw.keys.update(actor, apiKey.id, { name: "renamed", scopes: ["read", "write"] });
    step();
    await kw.keys.disable(actor, apiKey.id);
    step();
    await kw.keys.enable(actor, apiKey.id);
    step();
    await kw.keys.reveal(withMeta(admin.actor), apiKey.id);
    step();
    const rotated = await kw.keys.rotate(actor, apiKey.id, { gracePeriodSeconds: 60 });
    plaintexts.push(rotated.key);
    step();
    await kw.keys.revoke(actor, apiKey.id);

    const entries = await entriesFor(apiKey.id);
    expect(entries.map((e) => e.action)).toEqual(["key.created", "key.updated", "key.disabled", "key.enabled", "key.revealed", "key.rotated", "key.revoked"]);
    for (const entry of entries) {
      const byAdmin = entry.action === "key.revealed";
      expect(entry, entry.action).toMatchObject({
        actorType: "user",
        actorId: byAdmin ? admin.id : member.id,
        actorKeyId: null,
        targetType: "api_key",
        targetId: apiKey.id,
        clientIp: meta.ip,
        userAgent: meta.userAgent,
        requestId: meta.requestId,
      });
      expect(entry.id).toMatch(/^aud_/);
    }
    const start = new Date("2026-11-25T09:00:00Z").getTime();
    expect(entries.map((e) => e.occurredAt.getTime() - start)).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000]);

    const [created, updated, disabled, , , rotation, revoked] = entries;
    expect(created!.details).toEqual({ name: "audited", ownerId: member.id, scopes: ["read"], recoverable: true });
    expect(updated!.details).toEqual({ changes: { name: { from: "audited", to: "renamed" }, scopes: { from: ["read"], to: ["read", "write"] } } });
    expect(disabled!.details).toEqual({ changes: { disabledAt: { from: null, to: new Date(start + 2000).toISOString() } } });
    expect(rotation!.details).toEqual({ newKeyId: rotated.apiKey.id, gracePeriodSeconds: 60, previousExpiresAt: new Date(start + 5000 + 60_000).toISOString() });
    expect(revoked!.details).toMatchObject({ changes: { revokedAt: { from: null, to: new Date(start + 6000).toISOString() } } });

    for (const entry of entries) {
      const text = JSON.stringify(entry);
      expect(text).not.toContain(key);
      expect(text).not.toContain(rotated.key);
    }
  });

  it("names the key that acted when a user acts through an API key", async () => {
    const { key, apiKey: acting } = await kw.keys.create(member.actor, { name: "automation", scopes: ["write"] });
    plaintexts.push(key);
    const keyActor: Actor = { kind: "user", userId: member.id, role: "member", scopes: ["read", "write"], keyId: acting.id, restrictions: { allowedIps: [], rateLimit: null, expiresAt: null }, meta };
    clock.advance(1000);
    const { key: minted, apiKey } = await kw.keys.create(keyActor, { name: "minted by a key", scopes: ["read"] });
    plaintexts.push(minted);
    const [entry] = await entriesFor(apiKey.id);
    expect(entry).toMatchObject({ action: "key.created", actorType: "api_key", actorId: member.id, actorKeyId: acting.id, targetId: apiKey.id });
  });

  it("marks system (CLI) actions as such, with where they came from", async () => {
    const { key, apiKey } = await kw.keys.create(system, { name: "from the cli", scopes: ["read"], ownerId: member.id });
    plaintexts.push(key);
    const [entry] = await entriesFor(apiKey.id);
    expect(entry).toMatchObject({ action: "key.created", actorType: "system", actorId: null, actorKeyId: null, details: { via: "test", ownerId: member.id } });
  });

  it("writes nothing for a refused action or a change that changes nothing", async () => {
    const { key, apiKey } = await kw.keys.create(member.actor, { name: "quiet", scopes: ["read"] });
    plaintexts.push(key);
    const other = await createUser(kw, "member");
    await expect(kw.keys.revoke(other.actor, apiKey.id)).rejects.toMatchObject({ code: "not_found" });
    await expect(kw.keys.reveal(member.actor, apiKey.id)).rejects.toMatchObject({ code: "insufficient_scope" });
    await expect(kw.keys.reveal(admin.actor, apiKey.id)).rejects.toMatchObject({ code: "not_recoverable" });
    await kw.keys.enable(member.actor, apiKey.id);
    expect((await entriesFor(apiKey.id)).map((e) => e.action)).toEqual(["key.created"]);
  });
});

describe("the database never holds a plaintext key", () => {
  it("has no plaintext key, nor its secret middle, in any column of any row", async () => {
    for (let i = 0; i < 5; i++) {
      const { key, apiKey } = await kw.keys.create(i % 2 ? admin.actor : member.actor, {
        name: `dump ${i}`,
        scopes: ["read"],
        recoverable: i % 2 === 0,
        metadata: { i },
      });
      plaintexts.push(key);
      if (i === 0) {
        expect((await kw.keys.reveal(admin.actor, apiKey.id)).key).toBe(key);
        const rotated = await kw.keys.rotate(member.actor, apiKey.id, { gracePeriodSeconds: 30 });
        plaintexts.push(rotated.key);
      }
    }
    await kw.auth.login(member.email, TEST_PASSWORD);

    const rows = [...(await dumpTable("api_keys")), ...(await dumpTable("audit_events")), ...(await dumpTable("users")), ...(await dumpTable("sessions"))];
    const keyRows = await dumpTable("api_keys");
    expect(keyRows.length).toBeGreaterThanOrEqual(10);
    expect(plaintexts.length).toBeGreaterThanOrEqual(10);
    // The dump does hold what is meant to be there: the displayed parts and the digests.
    expect(keyRows.some((row) => row.includes(plaintexts[0]!.slice(0, 7)))).toBe(true);
    for (const key of plaintexts) {
      // `start` (kw_ + 4) and `last4` are stored on purpose; the 51 characters between are the secret.
      const middle = key.slice(7, 60);
      for (const row of rows) {
        expect(row.includes(key)).toBe(false);
        expect(row.includes(middle)).toBe(false);
        expect(row.includes(key.slice(3, 58))).toBe(false);
      }
    }
  });
});
