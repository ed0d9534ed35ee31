import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../app/services/clock.server";
import { createUser, system, testKeyward, type TestKeyward } from "../support/keyward";
import { expectEvery } from "../support/expect";

const clock = new ManualClock(new Date("2026-11-25T09:00:00Z"));
let kw: TestKeyward;
let admin: Awaited<ReturnType<typeof createUser>>;
let member: Awaited<ReturnType<typeof createUser>>;
let other: Awaited<ReturnType<typeof createUser>>;
let memberKeyId: string;
let otherKeyId: string;

beforeAll(async () => {
  kw = await testKeyward({ clock });
  admin = await createUser(kw, "admin");
  member = await createUser(kw, "member");
  other = await createUser(kw, "member");
  clock.advance(1000);
  memberKeyId = (await kw.keys.create(member.actor, { name: "member key", scopes: ["read"] })).apiKey.id;
  clock.advance(1000);
  otherKeyId = (await kw.keys.create(other.actor, { name: "other key", scopes: ["read"] })).apiKey.id;
  clock.advance(1000);
  await kw.keys.disable(member.actor, memberKeyId);
  clock.advance(1000);
  await kw.keys.revoke(admin.actor, otherKeyId);
});

afterAll(async () => {
  await kw?.dispose();
});

describe("audit reads", () => {
  it("lists everything newest first for an admin, with the actor's email", async () => {
    const { data } = await kw.audit.list(admin.actor, { limit: 200 });
    const times = data.map((e) => e.occurredAt);
    expect([...times].sort().reverse()).toEqual(times);
    const revoked = data.find((e) => e.action === "key.revoked")!;
    expect(revoked).toMatchObject({ targetId: otherKeyId, actorId: admin.id, actorEmail: admin.email, actorType: "user" });
  });

  it("filters by action, action family, actor, target and time range", async () => {
    expect((await kw.audit.list(admin.actor, { action: "key.disabled" })).data.map((e) => e.targetId)).toEqual([memberKeyId]);
    const keyFamily = await kw.audit.list(admin.actor, { action: "key.*" });
    expect(new Set(keyFamily.data.map((e) => e.action))).toEqual(new Set(["key.created", "key.disabled", "key.revoked"]));
    expect((await kw.audit.list(admin.actor, { actorId: other.id })).data.map((e) => e.action)).toEqual(["key.created"]);
    expect((await kw.audit.list(admin.actor, { targetId: memberKeyId })).data.map((e) => e.action)).toEqual(["key.disabled", "key.created"]);
    const created = (await kw.audit.list(admin.actor, { targetId: memberKeyId, action: "key.created" })).data[0]!;
    const from = created.occurredAt;
    const to = new Date(Date.parse(from) + 1000).toISOString();
    expect((await kw.audit.list(admin.actor, { from, to, action: "key.*" })).data.map((e) => e.targetId)).toEqual([memberKeyId]);
  });

  it("pages with a cursor without repeating or skipping entries", async () => {
    const all = (await kw.audit.list(admin.actor, { limit: 200 })).data.map((e) => e.id);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await kw.audit.list(admin.actor, { limit: 2, cursor });
      seen.push(...page.data.map((e) => e.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(all);
  });

  it("refuses a forged cursor and malformed filters as validation errors", async () => {
    await expect(kw.audit.list(admin.actor, { cursor: "not-a-cursor" })).rejects.toMatchObject({ code: "validation_failed" });
    await expect(kw.audit.list(admin.actor, { action: "key.revoked'; drop table" })).rejects.toMatchObject({ name: "ZodError" });
  });

  it("is admin-only for the whole trail; members read the trail of their own keys and get 404 for others'", async () => {
    await expect(kw.audit.list(member.actor)).rejects.toMatchObject({ code: "insufficient_scope" });
    const own = await kw.audit.forKey(member.actor, { keyId: memberKeyId });
    expect(own.data.map((e) => e.action)).toEqual(["key.disabled", "key.created"]);
    await expect(kw.audit.forKey(member.actor, { keyId: otherKeyId })).rejects.toMatchObject({ code: "not_found" });
    expect((await kw.audit.forKey(admin.actor, { keyId: otherKeyId })).data.map((e) => e.action)).toEqual(["key.revoked", "key.created"]);
  });

  it("exports the same entries as NDJSON and as CSV, formula cells neutralised", async () => {
    const listed = (await kw.audit.list(admin.actor, { action: "key.*", limit: 200 })).data;
    let ndjson = "";
    for await (const chunk of kw.audit.export(admin.actor, { action: "key.*", format: "ndjson" })) ndjson += chunk;
    expect(ndjson.trim().split("\n").map((line) => JSON.parse(line))).toEqual(listed);

    await kw.keys.create(system, { name: "=HYPERLINK(\"http://evil\")", ownerId: member.id, scopes: ["read"] });
    let csv = "";
    for await (const chunk of kw.audit.export(admin.actor, { format: "csv", action: "key.created" })) csv += chunk;
    const lines = csv.trimEnd().split("\r\n");
    expect(lines[0]).toBe("id,occurredAt,actorType,actorId,actorEmail,actorKeyId,action,targetType,targetId,clientIp,userAgent,requestId,details");
    expect(lines).toHaveLength(1 + 3);
    // The name only appears inside the JSON details cell, quoted; no cell starts with "=".
    expectEvery(lines, (line) => !line.split(",").some((cell) => cell.startsWith("=")));
    await expect(async () => {
      for await (const _ of kw.audit.export(member.actor, { format: "csv" })) void _;
    }).rejects.toMatchObject({ code: "insufficient_scope" });
  });

  it("keeps entries forever by default; a retention prunes only what is older", async () => {
    expect(await kw.audit.prune()).toBe(0);
    const { AuditService } = await import("../../app/services/audit.server");
    const before = (await kw.audit.list(admin.actor, { limit: 200 })).data.length;
    clock.advance(10 * 86_400_000);
    await kw.keys.create(member.actor, { name: "recent", scopes: ["read"] });
    const pruning = new AuditService({ db: kw.database.db, clock, keys: kw.keys, retentionDays: 5 });
    expect(await pruning.prune()).toBe(before);
    expect((await kw.audit.list(admin.actor, { limit: 200 })).data.map((e) => e.action)).toEqual(["key.created"]);
  });
});
