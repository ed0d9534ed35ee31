import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWellFormedKey, KEY_LENGTH, keyFormatProblem, KEY_PATTERN } from "../../app/lib/key-format";
import type { Actor } from "../../app/services/actor.server";
import { keyActor } from "../../app/services/actor.server";
import { ManualClock } from "../../app/services/clock.server";
import { createUser, testKeyward, type TestKeyward } from "../support/keyward";

const clock = new ManualClock(new Date("2026-12-03T09:00:00Z"));
let kw: TestKeyward;
let alice: { id: string; actor: Actor };
let bob: { id: string; actor: Actor };
let admin: { id: string; actor: Actor };

beforeAll(async () => {
  kw = await testKeyward({ clock });
  admin = await createUser(kw, "admin");
  alice = await createUser(kw, "member");
  bob = await createUser(kw, "member");
});
afterAll(() => kw?.dispose());

let prefixCount = 0;
const nextPrefix = () => `t${(prefixCount++).toString(36)}x`;

describe("APIs", () => {
  it("refuse bad, reserved and taken prefixes with stable codes", async () => {
    for (const prefix of ["a", "kw", "Acme", "1acme", "acme_", "acme__live", "a".repeat(13), "ac-me"]) {
      await expect(kw.apis.create(alice.actor, { name: "x", prefix } as never), prefix).rejects.toMatchObject({ code: expect.any(String) });
    }
    await kw.apis.create(alice.actor, { name: "Acme", prefix: "acme_live" });
    await expect(kw.apis.create(bob.actor, { name: "Other", prefix: "acme_live" })).rejects.toMatchObject({ code: "conflict" });
  });

  it("issue keys of 64 characters whatever the prefix length, checksummed, of their own prefix", async () => {
    for (const prefix of ["ab", "acme", "abcdefghijkl", "a1_b2_c3"]) {
      const api = await kw.apis.create(alice.actor, { name: prefix, prefix });
      const { key, apiKey } = await kw.keys.createIssued(alice.actor, api.id, {});
      expect(key).toHaveLength(KEY_LENGTH);
      expect(key.startsWith(`${prefix}_`)).toBe(true);
      // ≥ 42 random base62 characters: ≥ 250 bits.
      expect((KEY_LENGTH - prefix.length - 1 - 6) * Math.log2(62)).toBeGreaterThanOrEqual(250);
      expect(isWellFormedKey(key)).toBe(true);
      expect(KEY_PATTERN.exec(`token=${key}&x`)?.[0]).toBe(key);
      const flipped = key.slice(0, -1) + (key.at(-1) === "0" ? "1" : "0");
      expect(keyFormatProblem(flipped)).toBe("checksum");
      expect(apiKey).toMatchObject({ kind: "issued", apiId: api.id, scopes: [], permissions: [], start: key.slice(0, prefix.length + 5) });
    }
  });

  it("are invisible to other members and to root keys restricted to other APIs; admins see all", async () => {
    const mine = await kw.apis.create(alice.actor, { name: "Mine", prefix: nextPrefix() });
    const other = await kw.apis.create(alice.actor, { name: "Other", prefix: nextPrefix() });
    await expect(kw.apis.get(bob.actor, mine.id)).rejects.toMatchObject({ code: "not_found" });
    expect((await kw.apis.get(admin.actor, mine.id)).id).toBe(mine.id);
    const { apiKey: restricted } = await kw.keys.create(alice.actor, { name: "only mine", scopes: ["write"], apiIds: [mine.id] });
    const auth = await kw.keys.authenticate((await kw.keys.create(alice.actor, { name: "only mine 2", scopes: ["write"], apiIds: [mine.id] })).key);
    expect(restricted.apiIds).toEqual([mine.id]);
    if (auth.code !== "VALID") throw new Error(auth.code);
    const restrictedActor = keyActor(auth.key);
    await expect(kw.apis.get(restrictedActor, other.id)).rejects.toMatchObject({ code: "not_found" });
    const listed = await kw.apis.list(restrictedActor);
    expect(listed.data.map((api) => api.id)).toEqual([mine.id]);
    const { apiKey: issuedOther } = await kw.keys.createIssued(alice.actor, other.id, {});
    await expect(kw.keys.get(restrictedActor, issuedOther.id)).rejects.toMatchObject({ code: "not_found" });
    await expect(kw.keys.createIssued(restrictedActor, other.id, {})).rejects.toMatchObject({ code: "not_found" });
    // Nor can it mint a root key less restricted than itself.
    await expect(kw.keys.create(restrictedActor, { name: "escape", scopes: ["read"] })).rejects.toMatchObject({ code: "forbidden" });
  });

  it("refuse deletion while they have live keys, then archive: keys stay readable and stop verifying", async () => {
    const api = await kw.apis.create(alice.actor, { name: "Archive me", prefix: nextPrefix() });
    const { key, apiKey } = await kw.keys.createIssued(alice.actor, api.id, {});
    await expect(kw.apis.archive(alice.actor, api.id)).rejects.toMatchObject({ code: "conflict" });
    await kw.keys.revoke(alice.actor, apiKey.id);
    const archived = await kw.apis.archive(alice.actor, api.id);
    expect(archived.archivedAt).not.toBeNull();
    expect((await kw.keys.get(alice.actor, apiKey.id)).status).toBe("revoked");
    expect(await kw.verifier.verify(key, { caller: alice.actor })).toEqual({ valid: false, code: "INVALID" });
    await expect(kw.keys.createIssued(alice.actor, api.id, {})).rejects.toMatchObject({ code: "invalid_state" });
  });

  it("apply their defaults to new keys and bound lifetimes by their maxTtlDays", async () => {
    const api = await kw.apis.create(alice.actor, {
      name: "Defaults",
      prefix: nextPrefix(),
      defaults: { expiresInDays: 30, maxTtlDays: 60, rateLimit: { requests: 7, windowSeconds: 60 }, allowedIps: ["10.0.0.0/8"] },
    });
    const { apiKey } = await kw.keys.createIssued(alice.actor, api.id, {});
    expect(apiKey.rateLimit).toEqual({ requests: 7, windowSeconds: 60 });
    expect(apiKey.allowedIps).toEqual(["10.0.0.0/8"]);
    expect(Date.parse(apiKey.expiresAt!) - clock.now().getTime()).toBe(30 * 86_400_000);
    await expect(kw.keys.createIssued(alice.actor, api.id, { expiresInDays: 90 })).rejects.toMatchObject({ code: "policy_violation" });
    await expect(kw.keys.createIssued(alice.actor, api.id, { expiresAt: null })).rejects.toMatchObject({ code: "policy_violation" });
  });
});

describe("identities", () => {
  it("are created on first use of an externalId and reused after; unique per API", async () => {
    const api = await kw.apis.create(alice.actor, { name: "Ids", prefix: nextPrefix() });
    const first = await kw.keys.createIssued(alice.actor, api.id, { externalId: "cust_1", meta: { plan: "pro" } });
    const second = await kw.keys.createIssued(alice.actor, api.id, { externalId: "cust_1" });
    expect(first.apiKey.identityId).toMatch(/^idt_/);
    expect(second.apiKey.identityId).toBe(first.apiKey.identityId);
    await expect(kw.identities.create(alice.actor, { apiId: api.id, externalId: "cust_1" })).rejects.toMatchObject({ code: "conflict" });
    const identity = await kw.identities.get(alice.actor, first.apiKey.identityId!);
    expect(identity).toMatchObject({ apiId: api.id, externalId: "cust_1", keyCount: { total: 2, live: 2 } });
    const keys = await kw.keys.list(alice.actor, { identityId: identity.id });
    expect(keys.data.map((k) => k.id).sort()).toEqual([first.apiKey.id, second.apiKey.id].sort());
    expect((await kw.keys.list(alice.actor, { externalId: "cust_1", apiId: api.id })).data).toHaveLength(2);
    await expect(kw.identities.get(bob.actor, identity.id)).rejects.toMatchObject({ code: "not_found" });
  });

  it("revoke all their keys in one audited action, refuse deletion while keys live, then delete", async () => {
    const api = await kw.apis.create(alice.actor, { name: "Bulk", prefix: nextPrefix() });
    const keys = await Promise.all([1, 2, 3].map(() => kw.keys.createIssued(alice.actor, api.id, { externalId: "bulk" })));
    const identityId = keys[0]!.apiKey.identityId!;
    await expect(kw.identities.delete(alice.actor, identityId)).rejects.toMatchObject({ code: "conflict" });
    expect((await kw.verifier.verify(keys[0]!.key, { caller: alice.actor })).code).toBe("VALID");
    const revoked = await kw.identities.revokeKeys(alice.actor, identityId);
    expect(revoked.count).toBe(3);
    for (const { key } of keys) expect((await kw.verifier.verify(key, { caller: alice.actor })).code).toBe("REVOKED");
    const audit = await kw.audit.list(admin.actor, { action: "identity.keys_revoked" });
    expect(audit.data.filter((entry) => entry.targetId === identityId)).toHaveLength(1);
    expect(audit.data.find((entry) => entry.targetId === identityId)?.details).toMatchObject({ count: 3 });
    const deleted = await kw.identities.delete(alice.actor, identityId);
    expect(deleted).toMatchObject({ deleted: true, detachedKeys: 3 });
  });
});

describe("verification", () => {
  it("judges API, permissions (lists, anyOf, wildcards, implications) and never discloses what the caller may not manage", async () => {
    const api = await kw.apis.create(alice.actor, { name: "Orders", prefix: nextPrefix(), permissions: ["orders.read", "orders.write", "billing.read"] });
    const otherApi = await kw.apis.create(alice.actor, { name: "Other", prefix: nextPrefix() });
    const { key, apiKey } = await kw.keys.createIssued(alice.actor, api.id, { externalId: "c9", permissions: ["orders.*"], meta: { tier: 2 } });
    const ok = await kw.verifier.verify(key, { caller: alice.actor, apiId: api.id, permissions: ["orders.read", "orders.write"] });
    expect(ok).toMatchObject({ valid: true, code: "VALID", keyId: apiKey.id, apiId: api.id, permissions: ["orders.*"], meta: { tier: 2 }, identity: { externalId: "c9" } });
    expect(await kw.verifier.verify(key, { caller: alice.actor, permissions: ["billing.read"] })).toMatchObject({ valid: false, code: "INSUFFICIENT_PERMISSIONS", missing: ["billing.read"] });
    expect((await kw.verifier.verify(key, { caller: alice.actor, permissions: { anyOf: ["billing.read", "orders.read"] } })).code).toBe("VALID");
    expect(await kw.verifier.verify(key, { caller: alice.actor, apiId: otherApi.id })).toMatchObject({ valid: false, code: "WRONG_API" });
    // Another member, a root key, a made-up key: the same bare INVALID.
    expect(await kw.verifier.verify(key, { caller: bob.actor })).toEqual({ valid: false, code: "INVALID" });
    const root = await kw.keys.create(alice.actor, { name: "root", scopes: ["read"] });
    expect(await kw.verifier.verify(root.key, { caller: alice.actor })).toEqual({ valid: false, code: "INVALID" });
    await expect(kw.keys.createIssued(alice.actor, api.id, { permissions: ["nope"] })).rejects.toMatchObject({ code: "validation_failed" });
    // Default vocabulary: admin implies write implies read.
    const plain = await kw.apis.create(alice.actor, { name: "Plain", prefix: nextPrefix() });
    const adminKey = await kw.keys.createIssued(alice.actor, plain.id, { permissions: ["admin"] });
    expect((await kw.verifier.verify(adminKey.key, { caller: alice.actor, permissions: ["read"] })).code).toBe("VALID");
  });
});

describe("live events about APIs and identities", () => {
  it("reach their API's owner and admins, nobody else", async () => {
    const { LiveFeed } = await import("../../app/services/live.server");
    const feed = new LiveFeed({ events: kw.events, db: kw.database.db });
    const api = await kw.apis.create(alice.actor, { name: "Live", prefix: nextPrefix() });
    const { apiKey } = await kw.keys.createIssued(alice.actor, api.id, { externalId: "live-1" });
    for (const event of [
      { type: "api.changed", apiId: api.id },
      { type: "identity.changed", identityId: apiKey.identityId! },
    ] as const) {
      expect(await feed.visible({ userId: alice.id, admin: false }, event)).toEqual(event);
      expect(await feed.visible({ userId: admin.id, admin: true }, event)).toEqual(event);
      expect(await feed.visible({ userId: bob.id, admin: false }, event)).toBeNull();
    }
  });
});
