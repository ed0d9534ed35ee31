import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, keyCounts } from "../../db/schema";
import { BulkSeedService } from "../../app/services/bulk-seed.server";
import { ManualClock } from "../../app/services/clock.server";
import { UsageRecorder } from "../../app/services/usage.server";
import { createUser, testKeyward, type TestKeyward } from "../support/keyward";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const clock = new ManualClock(new Date("2026-11-25T12:30:00Z"));
let kw: TestKeyward;
let admin: Awaited<ReturnType<typeof createUser>>;
let member: Awaited<ReturnType<typeof createUser>>;
let other: Awaited<ReturnType<typeof createUser>>;
let recorder: UsageRecorder;

beforeAll(async () => {
  kw = await testKeyward({ clock });
  recorder = new UsageRecorder({ db: kw.database.db });
  admin = await createUser(kw, "admin");
  member = await createUser(kw, "member");
  other = await createUser(kw, "member");
});

afterAll(async () => {
  await kw?.dispose();
});

/** What the key counts must be, computed from every key row (what the triggers spare the overview from reading). */
async function countedFromRows(ownerId?: string) {
  const rows = await kw.database.db.select({ ownerId: apiKeys.ownerId, revokedAt: apiKeys.revokedAt, disabledAt: apiKeys.disabledAt, expiresAt: apiKeys.expiresAt }).from(apiKeys);
  const now = clock.now();
  const mine = rows.filter((row) => !ownerId || row.ownerId === ownerId);
  return { total: mine.length, active: mine.filter((row) => !row.revokedAt && !row.disabledAt && (!row.expiresAt || row.expiresAt > now)).length };
}

describe("key counts", () => {
  it("match the key rows after any sequence of creates, edits, disables, revokes and rotations, per owner and in all", async () => {
    const owners = [member, other];
    const operation = fc.oneof(
      fc.record({ kind: fc.constant("create" as const), owner: fc.nat(1), expiresInDays: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }) }),
      fc.record({ kind: fc.constantFrom("disable" as const, "enable" as const, "revoke" as const, "rotate" as const, "rename" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("advance" as const), hours: fc.integer({ min: 1, max: 40 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 12 }), async (operations) => {
        for (const op of operations) {
          if (op.kind === "create") {
            await kw.keys.create(owners[op.owner]!.actor, { name: "counted", scopes: ["read"], ...(op.expiresInDays ? { expiresInDays: op.expiresInDays } : {}) });
            continue;
          }
          if (op.kind === "advance") {
            clock.advance(op.hours * HOUR);
            continue;
          }
          // A key is rotated once: a rotation picks among keys without a successor.
          const unrotated = sql`not exists (select 1 from api_keys successor where successor.rotated_from = ${apiKeys.id})`;
          const candidates = await kw.database.db
            .select({ id: apiKeys.id })
            .from(apiKeys)
            .where(op.kind === "rotate" ? sql`${apiKeys.revokedAt} is null and ${unrotated}` : sql`${apiKeys.revokedAt} is null`)
            .orderBy(apiKeys.id);
          if (candidates.length === 0) continue;
          const id = candidates[op.pick % candidates.length]!.id;
          if (op.kind === "disable") await kw.keys.update(admin.actor, id, { disabled: true });
          else if (op.kind === "enable") await kw.keys.update(admin.actor, id, { disabled: false });
          else if (op.kind === "revoke") await kw.keys.revoke(admin.actor, id);
          else if (op.kind === "rotate") await kw.keys.rotate(admin.actor, id, { gracePeriodSeconds: 3600 });
          else await kw.keys.update(admin.actor, id, { name: "renamed" });
        }
        const all = await kw.overview.get(admin.actor);
        expect(all.keys).toEqual(await countedFromRows());
        const own = await kw.overview.get(member.actor);
        expect(own.keys).toEqual(await countedFromRows(member.id));
      }),
      { numRuns: 15 },
    );
    // Bulk inserts (the seeder: many rows per statement, some revoked or disabled) go through the same triggers.
    const before = await countedFromRows();
    const bulk = new BulkSeedService({ db: kw.database.db, clock, secrets: kw.config.digestSecrets });
    const now = clock.now();
    await bulk.insertKeys(admin.actor, {
      count: 50,
      batchSize: 20,
      spec: (i) => ({ ownerId: other.id, name: "bulk", scopes: ["read"], rateLimit: null, createdAt: now, expiresAt: null, disabledAt: i % 5 === 0 ? now : null, revokedAt: i % 7 === 0 ? now : null }),
    });
    // 10 disabled, 8 revoked, 2 of them both: 34 active.
    expect(await countedFromRows()).toEqual({ total: before.total + 50, active: before.active + 34 });
    expect((await kw.overview.get(admin.actor)).keys).toEqual({ total: before.total + 50, active: before.active + 34 });
    const stored = await kw.database.db.select().from(keyCounts);
    expect(stored.reduce((sum, row) => sum + row.total, 0)).toBe(before.total + 50);
  });
});

describe("usage", () => {
  it("charts the range by bucket from the roll-ups, to the unit, and shows members only their own keys", async () => {
    clock.set(new Date("2026-11-25T12:30:00Z"));
    const mine = (await kw.keys.create(member.actor, { name: "mine", scopes: ["read"] })).apiKey.id;
    const theirs = (await kw.keys.create(other.actor, { name: "theirs", scopes: ["read"] })).apiKey.id;
    const now = clock.now().getTime();
    const record = (keyId: string, at: number, status = 200) =>
      recorder.record({ keyId, accepted: true, at: new Date(at), method: "GET", path: "/api/v1/me", status, clientIp: "203.0.113.9", durationMs: 1, userAgent: null, requestId: "r" });
    // Mine: 5 now, 3 ten hours ago (one refused), 7 twenty days ago. Theirs: 4 two hours ago.
    for (let i = 0; i < 5; i++) record(mine, now - i * 1000);
    for (let i = 0; i < 3; i++) record(mine, now - 10 * HOUR, i === 0 ? 401 : 200);
    for (let i = 0; i < 7; i++) record(mine, now - 20 * DAY);
    for (let i = 0; i < 4; i++) record(theirs, now - 2 * HOUR, 429);
    await recorder.flush();

    const day = await kw.overview.get(admin.actor, { range: "24h" });
    expect(day.series).toHaveLength(24);
    expect(day.totals).toMatchObject({ requests: 12, success: 7, denied: 1, rateLimited: 4 });
    expect(day.series.at(-1)).toMatchObject({ t: "2026-11-25T12:00:00.000Z", requests: 5 });
    expect(day.series.find((point) => point.t === "2026-11-25T02:00:00.000Z")).toMatchObject({ requests: 3, denied: 1 });
    expect(day.topKeys.map((top) => [top.name, top.requests])).toEqual([
      ["mine", 8],
      ["theirs", 4],
    ]);

    const month = await kw.overview.get(admin.actor, { range: "30d" });
    expect(month.series).toHaveLength(30);
    expect(month.totals.requests).toBe(19);
    expect(month.series.find((point) => point.t === "2026-11-05T00:00:00.000Z")).toMatchObject({ requests: 7 });

    const own = await kw.overview.get(member.actor, { range: "30d" });
    expect(own.scope).toBe("own");
    expect(own.totals.requests).toBe(15);
    expect(own.topKeys.map((top) => top.keyId)).toEqual([mine]);
  });
});
