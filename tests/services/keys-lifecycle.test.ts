import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { auditEvents } from "../../db/schema";
import { ManualClock } from "../../app/services/clock.server";
import type { Actor } from "../../app/services/actor.server";
import type { CreateKeyInput } from "../../app/lib/key-schemas";
import { createUser, system, testKeyward, type TestKeyward } from "../support/keyward";
import { expectEvery } from "../support/expect";

const DAY = 86_400_000;
const clock = new ManualClock(new Date("2026-11-25T09:00:00Z"));
let kw: TestKeyward;
let admin: Awaited<ReturnType<typeof createUser>>;
let member: Awaited<ReturnType<typeof createUser>>;
let other: Awaited<ReturnType<typeof createUser>>;

beforeAll(async () => {
  kw = await testKeyward({ clock });
  admin = await createUser(kw, "admin");
  member = await createUser(kw, "member");
  other = await createUser(kw, "member");
});

afterAll(async () => {
  await kw?.dispose();
});

const create = (actor: Actor, input: Partial<CreateKeyInput> = {}) =>
  kw.keys.create(actor, { name: "key", scopes: ["read"], ...input });

/** Every key id, following nextCursor page by page. */
async function listAll(actor: Actor, input: Parameters<typeof kw.keys.list>[1] = {}) {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await kw.keys.list(actor, { ...input, cursor });
    ids.push(...page.data.map((key) => key.id));
    cursor = page.nextCursor ?? undefined;
    pages++;
  } while (cursor && pages < 100);
  return { ids, pages };
}

const auditFor = (targetId: string) => kw.database.db.select().from(auditEvents).where(eq(auditEvents.targetId, targetId)).orderBy(auditEvents.occurredAt);

describe("create", () => {
  it("returns the plaintext once with a view that shows only its start and last 4", async () => {
    const { key, apiKey } = await create(member.actor, {
      name: "  ci deploy  ".trim(),
      description: "for CI",
      scopes: ["write", "read", "write"],
      allowedIps: ["10.0.0.0/8"],
      rateLimit: { requests: 100, windowSeconds: 60 },
      metadata: { team: "infra" },
    });
    expect(key).toMatch(/^kw_[0-9A-Za-z]{61}$/);
    expect(apiKey).toMatchObject({
      name: "ci deploy",
      description: "for CI",
      start: key.slice(0, 7),
      last4: key.slice(-4),
      ownerId: member.id,
      scopes: ["read", "write"],
      allowedIps: ["10.0.0.0/8"],
      rateLimit: { requests: 100, windowSeconds: 60 },
      metadata: { team: "infra" },
      status: "active",
      expiresAt: null,
      disabledAt: null,
      revokedAt: null,
      recoverable: false,
      rotatedFrom: null,
      requestCount: 0,
      lastUsedAt: null,
      createdAt: clock.now().toISOString(),
    });
    expect(apiKey.id).toMatch(/^key_[0-9A-Za-z]{20}$/);
    expect(JSON.stringify(apiKey)).not.toContain(key);
    expect(Object.keys(apiKey)).not.toEqual(expect.arrayContaining(["digest"]));
    expect(Object.keys(apiKey)).not.toContain("ciphertext");
    expect(Object.keys(apiKey)).not.toContain("digest");
  });

  it("lets an admin create a key for another user, within that user's role", async () => {
    const { apiKey } = await create(admin.actor, { ownerId: member.id, scopes: ["write"] });
    expect(apiKey.ownerId).toBe(member.id);
    await expect(create(admin.actor, { ownerId: member.id, scopes: ["admin"] })).rejects.toMatchObject({ code: "insufficient_scope" });
    const forAdmin = await create(admin.actor, { ownerId: admin.id, scopes: ["admin"] });
    expect(forAdmin.apiKey.scopes).toEqual(["admin"]);
  });

  it("refuses a member creating keys for someone else or with the admin scope", async () => {
    await expect(create(member.actor, { ownerId: other.id })).rejects.toMatchObject({ code: "insufficient_scope" });
    await expect(create(member.actor, { scopes: ["admin"] })).rejects.toMatchObject({ code: "insufficient_scope" });
  });

  it("refuses an unknown or disabled owner", async () => {
    await expect(create(admin.actor, { ownerId: "usr_00000000000000000000" })).rejects.toMatchObject({ code: "not_found" });
    const leaver = await createUser(kw, "member");
    await kw.users.disable(system, leaver.id);
    await expect(create(admin.actor, { ownerId: leaver.id })).rejects.toMatchObject({ code: "invalid_state" });
  });
});

describe("expiry", () => {
  it("applies the presets as now + N days", async () => {
    for (const days of [7, 30, 90, 365]) {
      const { apiKey } = await create(member.actor, { expiresInDays: days });
      expect(apiKey.expiresAt).toBe(new Date(clock.now().getTime() + days * DAY).toISOString());
    }
  });

  it("takes an absolute date, and refuses one in the past or now", async () => {
    const at = "2027-02-01T12:30:00.000Z";
    expect((await create(member.actor, { expiresAt: at })).apiKey.expiresAt).toBe(at);
    expect((await create(member.actor, { expiresAt: "2027-02-01T14:30:00+02:00" })).apiKey.expiresAt).toBe(at);
    await expect(create(member.actor, { expiresAt: "2026-11-25T08:59:59Z" })).rejects.toMatchObject({ code: "validation_failed" });
    await expect(create(member.actor, { expiresAt: clock.now().toISOString() })).rejects.toMatchObject({ code: "validation_failed" });
    expect((await create(member.actor, { expiresAt: null })).apiKey.expiresAt).toBeNull();
  });

  it("derives the status from the clock: active → expired once the clock passes expiresAt", async () => {
    const owner = await createUser(kw, "member");
    const { key, apiKey } = await kw.keys.create(owner.actor, { name: "short", scopes: ["read"], expiresInDays: 7 });
    expect(apiKey.status).toBe("active");
    clock.advance(7 * DAY - 1);
    expect((await kw.keys.get(owner.actor, apiKey.id)).status).toBe("active");
    expect((await kw.keys.authenticate(key)).code).toBe("VALID");
    clock.advance(1);
    expect((await kw.keys.get(owner.actor, apiKey.id)).status).toBe("expired");
    expect((await kw.keys.authenticate(key)).code).toBe("EXPIRED");
    expect((await kw.keys.list(owner.actor, { status: "expired" })).data.map((k) => k.id)).toEqual([apiKey.id]);
    expect((await kw.keys.list(owner.actor, { status: "active" })).data).toEqual([]);
    // Expiry outranks disabled; revoked outranks both.
    await kw.keys.disable(owner.actor, apiKey.id);
    expect((await kw.keys.get(owner.actor, apiKey.id)).status).toBe("expired");
    await kw.keys.revoke(owner.actor, apiKey.id);
    expect((await kw.keys.get(owner.actor, apiKey.id)).status).toBe("revoked");
  });

  describe("with a maximum lifetime (KEYWARD_MAX_KEY_TTL_DAYS=90)", () => {
    let limited: TestKeyward;
    let owner: Awaited<ReturnType<typeof createUser>>;
    beforeAll(async () => {
      limited = await testKeyward({ clock, env: { KEYWARD_MAX_KEY_TTL_DAYS: "90" } });
      owner = await createUser(limited, "member");
    });
    afterAll(async () => {
      await limited?.dispose();
    });

    it("refuses a key that never expires", async () => {
      await expect(limited.keys.create(owner.actor, { name: "k", scopes: ["read"] })).rejects.toMatchObject({ code: "policy_violation" });
      await expect(limited.keys.create(owner.actor, { name: "k", scopes: ["read"], expiresAt: null })).rejects.toMatchObject({ code: "policy_violation" });
    });

    it("refuses a lifetime longer than the maximum, by preset or by date, and accepts the maximum itself", async () => {
      await expect(limited.keys.create(owner.actor, { name: "k", scopes: ["read"], expiresInDays: 365 })).rejects.toMatchObject({ code: "policy_violation" });
      const tooLate = new Date(clock.now().getTime() + 90 * DAY + 1000).toISOString();
      await expect(limited.keys.create(owner.actor, { name: "k", scopes: ["read"], expiresAt: tooLate })).rejects.toMatchObject({ code: "policy_violation" });
      const { apiKey } = await limited.keys.create(owner.actor, { name: "k", scopes: ["read"], expiresInDays: 90 });
      expect(apiKey.expiresAt).toBe(new Date(clock.now().getTime() + 90 * DAY).toISOString());
      // Nor can an update lift the limit afterwards.
      await expect(limited.keys.update(owner.actor, apiKey.id, { expiresAt: null })).rejects.toMatchObject({ code: "policy_violation" });
      await expect(limited.keys.update(owner.actor, apiKey.id, { expiresAt: tooLate })).rejects.toMatchObject({ code: "policy_violation" });
    });
  });
});

describe("list", () => {
  let pager: Awaited<ReturnType<typeof createUser>>;
  let created: { id: string; createdAt: string }[];

  beforeAll(async () => {
    pager = await createUser(kw, "member");
    created = [];
    // 25 keys over 9 distinct instants, so several share a createdAt and the id must break ties.
    for (let i = 0; i < 25; i++) {
      if (i % 3 === 0) clock.advance(1000);
      const { apiKey } = await create(pager.actor, { name: `pager ${i}` });
      created.push(apiKey);
    }
  });

  it("pages newest first over more than two pages with the cursor, each key exactly once", async () => {
    const { ids, pages } = await listAll(pager.actor, { limit: 10 });
    expect(pages).toBe(3);
    const expected = [...created]
      .sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1))
      .map((key) => key.id);
    expect(ids).toEqual(expected);
    const first = await kw.keys.list(pager.actor, { limit: 10 });
    expect(first.data).toHaveLength(10);
    expect(first.nextCursor).toEqual(expect.any(String));
    const exact = await kw.keys.list(pager.actor, { limit: 25 });
    expect(exact.data).toHaveLength(25);
    expect(exact.nextCursor).toBeNull();
  });

  it("refuses a cursor it did not issue", async () => {
    await expect(kw.keys.list(pager.actor, { cursor: "not-a-cursor" })).rejects.toMatchObject({ code: "validation_failed" });
    const forged = Buffer.from(JSON.stringify(["yesterday", 1])).toString("base64url");
    await expect(kw.keys.list(pager.actor, { cursor: forged })).rejects.toMatchObject({ code: "validation_failed" });
  });

  it("shows a member only their own keys; an admin sees everyone's and can filter by owner", async () => {
    const mine = await listAll(member.actor, { limit: 100 });
    const keys = await Promise.all(mine.ids.map((id) => kw.keys.get(member.actor, id)));
    expectEvery(keys, (key) => key.ownerId === member.id);
    expect((await kw.keys.list(member.actor, { ownerId: pager.id })).data).toEqual([]);
    const pagers = await listAll(admin.actor, { ownerId: pager.id, limit: 7 });
    expect(pagers.ids.sort()).toEqual(created.map((key) => key.id).sort());
    const everyone = await listAll(admin.actor, { limit: 100 });
    expect(everyone.ids).toEqual(expect.arrayContaining([...created.map((key) => key.id), ...mine.ids]));
  });

  it("filters by status", async () => {
    const owner = await createUser(kw, "member");
    const active = (await create(owner.actor, { name: "active" })).apiKey;
    const disabled = (await create(owner.actor, { name: "disabled" })).apiKey;
    const revoked = (await create(owner.actor, { name: "revoked" })).apiKey;
    const expiring = (await create(owner.actor, { name: "expired", expiresAt: new Date(clock.now().getTime() + 1000).toISOString() })).apiKey;
    await kw.keys.disable(owner.actor, disabled.id);
    await kw.keys.revoke(owner.actor, revoked.id);
    clock.advance(1000);
    const ids = async (status: "active" | "disabled" | "revoked" | "expired" | "all") =>
      (await kw.keys.list(owner.actor, { status })).data.map((key) => key.id);
    expect(await ids("active")).toEqual([active.id]);
    expect(await ids("disabled")).toEqual([disabled.id]);
    expect(await ids("revoked")).toEqual([revoked.id]);
    expect(await ids("expired")).toEqual([expiring.id]);
    expect((await ids("all")).sort()).toEqual([active.id, disabled.id, revoked.id, expiring.id].sort());
    expect((await kw.keys.list(owner.actor, { status: "all" })).data.find((key) => key.id === expiring.id)?.status).toBe("expired");
  });

  it("searches names case-insensitively, taking % and _ (and \\) literally", async () => {
    const owner = await createUser(kw, "member");
    const names = ["100% uptime", "1000 uptime", "snake_case", "snakeXcase", "back\\slash", "Plain"];
    const byName = new Map<string, string>();
    for (const name of names) byName.set(name, (await create(owner.actor, { name })).apiKey.id);
    const search = async (q: string) => (await kw.keys.list(owner.actor, { q })).data.map((key) => key.id).sort();
    expect(await search("%")).toEqual([byName.get("100% uptime")]);
    expect(await search("0% ")).toEqual([byName.get("100% uptime")]);
    expect(await search("_")).toEqual([byName.get("snake_case")]);
    expect(await search("e_c")).toEqual([byName.get("snake_case")]);
    expect(await search("\\")).toEqual([byName.get("back\\slash")]);
    expect(await search("PLAIN")).toEqual([byName.get("Plain")]);
    expect(await search("uptime")).toEqual([byName.get("100% uptime"), byName.get("1000 uptime")].sort());
    expect(await search("nothing like it")).toEqual([]);
  });
});

describe("get, update, disable, enable", () => {
  it("gets a visible key; another owner's key is not found to a member but visible to an admin", async () => {
    const { apiKey } = await create(other.actor, { name: "others" });
    expect((await kw.keys.get(other.actor, apiKey.id)).name).toBe("others");
    await expect(kw.keys.get(member.actor, apiKey.id)).rejects.toMatchObject({ code: "not_found" });
    expect((await kw.keys.get(admin.actor, apiKey.id)).id).toBe(apiKey.id);
    await expect(kw.keys.get(admin.actor, "key_00000000000000000000")).rejects.toMatchObject({ code: "not_found" });
  });

  it("updates each field on its own and leaves the others alone", async () => {
    const { apiKey } = await create(member.actor, { name: "before", scopes: ["read"], metadata: { a: 1 } });
    clock.advance(1000);
    const steps: [Parameters<typeof kw.keys.update>[2], Partial<typeof apiKey>][] = [
      [{ name: "after" }, { name: "after" }],
      [{ description: "what it is for" }, { description: "what it is for" }],
      [{ scopes: ["write", "read"] }, { scopes: ["read", "write"] }],
      [{ allowedIps: ["192.168.0.0/16", "2001:db8::/32"] }, { allowedIps: ["192.168.0.0/16", "2001:db8::/32"] }],
      [{ rateLimit: { requests: 5, windowSeconds: 1 } }, { rateLimit: { requests: 5, windowSeconds: 1 } }],
      [{ rateLimit: null }, { rateLimit: null }],
      [{ expiresAt: "2027-01-01T00:00:00Z" }, { expiresAt: "2027-01-01T00:00:00.000Z" }],
      [{ expiresAt: null }, { expiresAt: null }],
      [{ metadata: { b: [1, 2] } }, { metadata: { b: [1, 2] } }],
      [{ disabled: true }, { status: "disabled", disabledAt: clock.now().toISOString() }],
      [{ disabled: false }, { status: "active", disabledAt: null }],
    ];
    let expected = { ...apiKey };
    for (const [patch, change] of steps) {
      const updated = await kw.keys.update(member.actor, apiKey.id, patch);
      expected = { ...expected, ...change, updatedAt: clock.now().toISOString() };
      expect(updated, JSON.stringify(patch)).toEqual(expected);
      expect(await kw.keys.get(member.actor, apiKey.id)).toEqual(expected);
    }
    await expect(kw.keys.update(member.actor, apiKey.id, { expiresAt: "2020-01-01T00:00:00Z" })).rejects.toMatchObject({ code: "validation_failed" });
    await expect(kw.keys.update(member.actor, apiKey.id, { scopes: ["admin"] })).rejects.toMatchObject({ code: "insufficient_scope" });
  });

  it("disables and enables; each is idempotent", async () => {
    const { apiKey } = await create(member.actor);
    clock.advance(1000);
    const disabled = await kw.keys.disable(member.actor, apiKey.id);
    expect(disabled.status).toBe("disabled");
    clock.advance(1000);
    const again = await kw.keys.disable(member.actor, apiKey.id);
    expect(again.disabledAt).toBe(disabled.disabledAt);
    clock.advance(1000);
    expect((await kw.keys.enable(member.actor, apiKey.id)).status).toBe("active");
    expect((await kw.keys.enable(member.actor, apiKey.id)).status).toBe("active");
    expect((await auditFor(apiKey.id)).map((entry) => entry.action)).toEqual(["key.created", "key.disabled", "key.enabled"]);
  });
});

describe("revoke", () => {
  it("is final and idempotent; a revoked key cannot be enabled, disabled, updated or rotated", async () => {
    const { key, apiKey } = await create(member.actor);
    const revoked = await kw.keys.revoke(member.actor, apiKey.id);
    expect(revoked.status).toBe("revoked");
    expect(revoked.revokedAt).toBe(clock.now().toISOString());
    clock.advance(5000);
    const again = await kw.keys.revoke(member.actor, apiKey.id);
    expect(again.revokedAt).toBe(revoked.revokedAt);
    expect((await auditFor(apiKey.id)).filter((entry) => entry.action === "key.revoked")).toHaveLength(1);
    await expect(kw.keys.enable(member.actor, apiKey.id)).rejects.toMatchObject({ code: "invalid_state" });
    await expect(kw.keys.disable(member.actor, apiKey.id)).rejects.toMatchObject({ code: "invalid_state" });
    await expect(kw.keys.update(member.actor, apiKey.id, { name: "zombie" })).rejects.toMatchObject({ code: "invalid_state" });
    await expect(kw.keys.update(member.actor, apiKey.id, { disabled: false })).rejects.toMatchObject({ code: "invalid_state" });
    await expect(kw.keys.rotate(member.actor, apiKey.id, { gracePeriodSeconds: 60 })).rejects.toMatchObject({ code: "invalid_state" });
    expect((await kw.keys.get(member.actor, apiKey.id)).status).toBe("revoked");
    expect((await kw.keys.authenticate(key)).code).toBe("REVOKED");
  });

  it("is not possible on another member's key", async () => {
    const { apiKey } = await create(other.actor);
    await expect(kw.keys.revoke(member.actor, apiKey.id)).rejects.toMatchObject({ code: "not_found" });
    expect((await kw.keys.get(other.actor, apiKey.id)).status).toBe("active");
  });
});

describe("rotate", () => {
  it("issues a new key with the same settings; the old one works until now + grace", async () => {
    const original = await create(member.actor, {
      name: "rotating",
      description: "d",
      scopes: ["read", "write"],
      allowedIps: ["10.0.0.0/8"],
      rateLimit: { requests: 10, windowSeconds: 60 },
      metadata: { env: "prod" },
    });
    clock.advance(60_000);
    const rotated = await kw.keys.rotate(member.actor, original.apiKey.id, { gracePeriodSeconds: 3600 });
    expect(rotated.key).not.toBe(original.key);
    expect(rotated.apiKey.id).not.toBe(original.apiKey.id);
    expect(rotated.apiKey).toMatchObject({
      name: "rotating",
      description: "d",
      scopes: ["read", "write"],
      allowedIps: ["10.0.0.0/8"],
      rateLimit: { requests: 10, windowSeconds: 60 },
      metadata: { env: "prod" },
      ownerId: member.id,
      rotatedFrom: original.apiKey.id,
      expiresAt: null,
      status: "active",
      start: rotated.key.slice(0, 7),
      last4: rotated.key.slice(-4),
    });
    const graceEnd = new Date(clock.now().getTime() + 3600_000).toISOString();
    expect(rotated.previous.expiresAt).toBe(graceEnd);
    expect((await kw.keys.get(member.actor, original.apiKey.id)).expiresAt).toBe(graceEnd);

    expect((await kw.keys.authenticate(original.key)).code).toBe("VALID");
    expect((await kw.keys.authenticate(rotated.key)).code).toBe("VALID");
    clock.advance(3600_000);
    expect((await kw.keys.authenticate(original.key)).code).toBe("EXPIRED");
    expect((await kw.keys.authenticate(rotated.key)).code).toBe("VALID");
  });

  it("with 0 s grace ends the old key at once", async () => {
    const original = await create(member.actor);
    const rotated = await kw.keys.rotate(member.actor, original.apiKey.id, { gracePeriodSeconds: 0 });
    expect(rotated.previous.expiresAt).toBe(clock.now().toISOString());
    expect(rotated.previous.status).toBe("expired");
    expect((await kw.keys.authenticate(original.key)).code).toBe("EXPIRED");
    expect((await kw.keys.authenticate(rotated.key)).code).toBe("VALID");
    // Grace defaults to 0.
    const another = await create(member.actor);
    expect((await kw.keys.rotate(member.actor, another.apiKey.id)).previous.status).toBe("expired");
  });

  it("refuses a grace period over 7 days", async () => {
    const original = await create(member.actor);
    await expect(kw.keys.rotate(member.actor, original.apiKey.id, { gracePeriodSeconds: 7 * 86_400 + 1 })).rejects.toMatchObject({ code: "validation_failed" });
    await expect(kw.keys.rotate(member.actor, original.apiKey.id, { gracePeriodSeconds: -1 })).rejects.toMatchObject({ code: "validation_failed" });
    await expect(kw.keys.rotate(member.actor, original.apiKey.id, { gracePeriodSeconds: 1.5 })).rejects.toMatchObject({ code: "validation_failed" });
    expect((await kw.keys.get(member.actor, original.apiKey.id)).expiresAt).toBeNull();
    const atMost = await kw.keys.rotate(member.actor, original.apiKey.id, { gracePeriodSeconds: 7 * 86_400 });
    expect(atMost.previous.expiresAt).toBe(new Date(clock.now().getTime() + 7 * DAY).toISOString());
  });

  it("keeps the lifetime length, and never extends the old key past its own expiry", async () => {
    const original = await create(member.actor, { expiresInDays: 30 });
    clock.advance(10 * DAY);
    const rotated = await kw.keys.rotate(member.actor, original.apiKey.id, { gracePeriodSeconds: 3600 });
    expect(rotated.apiKey.expiresAt).toBe(new Date(clock.now().getTime() + 30 * DAY).toISOString());
    const soon = await create(member.actor, { expiresAt: new Date(clock.now().getTime() + 60_000).toISOString() });
    const rotatedSoon = await kw.keys.rotate(member.actor, soon.apiKey.id, { gracePeriodSeconds: 3600 });
    expect(rotatedSoon.previous.expiresAt).toBe(soon.apiKey.expiresAt);
  });

  it("refuses another member's key, and a revoked one", async () => {
    const theirs = await create(other.actor);
    await expect(kw.keys.rotate(member.actor, theirs.apiKey.id)).rejects.toMatchObject({ code: "not_found" });
    await kw.keys.revoke(other.actor, theirs.apiKey.id);
    await expect(kw.keys.rotate(other.actor, theirs.apiKey.id)).rejects.toMatchObject({ code: "invalid_state" });
  });
});

describe("reveal (recoverable keys)", () => {
  it("gives an admin the same plaintext, and audits every reveal", async () => {
    const { key, apiKey } = await create(member.actor, { recoverable: true });
    expect(apiKey.recoverable).toBe(true);
    clock.advance(1000);
    expect(await kw.keys.reveal(admin.actor, apiKey.id)).toEqual({ key });
    clock.advance(1000);
    expect(await kw.keys.reveal(system, apiKey.id)).toEqual({ key });
    const reveals = (await auditFor(apiKey.id)).filter((entry) => entry.action === "key.revealed");
    expect(reveals).toHaveLength(2);
    expect(reveals[0]).toMatchObject({ actorType: "user", actorId: admin.id, targetType: "api_key", targetId: apiKey.id });
    expect(reveals[1]).toMatchObject({ actorType: "system", actorId: null });
    expect(JSON.stringify(reveals)).not.toContain(key);
  });

  it("refuses the owner (a member) and anyone without the admin scope", async () => {
    const { apiKey } = await create(member.actor, { recoverable: true });
    await expect(kw.keys.reveal(member.actor, apiKey.id)).rejects.toMatchObject({ code: "insufficient_scope" });
    expect((await auditFor(apiKey.id)).filter((entry) => entry.action === "key.revealed")).toHaveLength(0);
  });

  it("says not_recoverable for a key created without the copy, and keeps a rotated recoverable key recoverable", async () => {
    const plain = await create(member.actor);
    await expect(kw.keys.reveal(admin.actor, plain.apiKey.id)).rejects.toMatchObject({ code: "not_recoverable" });
    const recoverable = await create(member.actor, { recoverable: true });
    const rotated = await kw.keys.rotate(member.actor, recoverable.apiKey.id, { gracePeriodSeconds: 60 });
    expect(rotated.apiKey.recoverable).toBe(true);
    expect(await kw.keys.reveal(admin.actor, rotated.apiKey.id)).toEqual({ key: rotated.key });
    await kw.keys.revoke(member.actor, rotated.apiKey.id);
    await expect(kw.keys.reveal(admin.actor, rotated.apiKey.id)).rejects.toMatchObject({ code: "invalid_state" });
  });
});
