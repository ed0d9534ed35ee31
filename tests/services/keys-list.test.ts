import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../app/services/clock.server";
import { createUser, testKeyward, type TestKeyward } from "../support/keyward";

const clock = new ManualClock(new Date("2026-11-25T09:00:00Z"));
let kw: TestKeyward;
let member: Awaited<ReturnType<typeof createUser>>;
let admin: Awaited<ReturnType<typeof createUser>>;
const created: string[] = [];

beforeAll(async () => {
  kw = await testKeyward({ clock });
  member = await createUser(kw, "member");
  admin = await createUser(kw, "admin");
  for (const [i, scopes] of ([["read"], ["read", "write"], ["write"], ["read"], ["admin"]] as const).entries()) {
    clock.advance(1000);
    const owner = scopes.includes("admin" as never) ? admin : member;
    created.push((await kw.keys.create(owner.actor, { name: `list ${i}`, scopes: [...scopes] })).apiKey.id);
  }
});
afterAll(async () => {
  await kw?.dispose();
});

describe("listing keys: scope filter and order", () => {
  it("filters by a scope the key holds", async () => {
    const read = await kw.keys.list(admin.actor, { scope: "read", limit: 100 });
    expect(read.data.map((k) => k.name)).toEqual(["list 3", "list 1", "list 0"]);
    const adminScoped = await kw.keys.list(admin.actor, { scope: "admin", limit: 100 });
    expect(adminScoped.data.map((k) => k.name)).toEqual(["list 4"]);
    // A member's filter never reaches beyond their own keys.
    expect((await kw.keys.list(member.actor, { scope: "admin" })).data).toEqual([]);
  });

  it("pages oldest first with the same cursor rules, without gaps or repeats", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await kw.keys.list(admin.actor, { order: "oldest", limit: 2, cursor });
      seen.push(...page.data.map((k) => k.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(created);
    const newest = await kw.keys.list(admin.actor, { limit: 100 });
    expect(newest.data.map((k) => k.id)).toEqual([...created].reverse());
  });

  it("refuses an unknown order or scope", async () => {
    await expect(kw.keys.list(admin.actor, { order: "name" as never })).rejects.toMatchObject({ name: "ZodError" });
    await expect(kw.keys.list(admin.actor, { scope: "root" as never })).rejects.toMatchObject({ name: "ZodError" });
  });
});
