import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys } from "../../db/schema";
import { generateKey } from "../../app/lib/key-format";
import { ManualClock } from "../../app/services/clock.server";
import { KeyService } from "../../app/services/keys.server";
import { digestKey } from "../../app/services/secrets.server";
import { createUser, system, testConfig, testKeyward, type TestKeyward } from "../support/keyward";
import { serverSecrets } from "../support/secrets";

const clock = new ManualClock(new Date("2026-11-25T09:00:00Z"));
let kw: TestKeyward;

beforeAll(async () => {
  kw = await testKeyward({ clock });
  // Keyward always keeps one active admin; this one lets the tests demote the others.
  await createUser(kw, "admin");
});

afterAll(async () => {
  await kw?.dispose();
});

describe("authenticate", () => {
  it("returns VALID with the key's principal", async () => {
    const owner = await createUser(kw, "member");
    const { key, apiKey } = await kw.keys.create(owner.actor, {
      name: "svc",
      scopes: ["write"],
      allowedIps: ["10.0.0.0/8"],
      rateLimit: { requests: 3, windowSeconds: 1 },
      metadata: { app: "billing" },
    });
    const result = await kw.keys.authenticate(key);
    expect(result).toEqual({
      code: "VALID",
      key: {
        id: apiKey.id,
        name: "svc",
        ownerId: owner.id,
        ownerRole: "member",
        ownerEmail: owner.email,
        scopes: ["read", "write"],
        allowedIps: ["10.0.0.0/8"],
        rateLimit: { requests: 3, windowSeconds: 1 },
        expiresAt: null,
        metadata: { app: "billing" },
        // A root key: no API, no permissions, no identity, no named limits or credits, not restricted to APIs.
        ratelimits: [],
        identityRatelimits: [],
        hasCredits: false,
        apiId: null,
        apiArchived: false,
        permissions: [],
        implications: {},
        identity: null,
        rootApiIds: null,
      },
    });
  });

  it("returns INVALID for malformed keys, a broken checksum, and well-formed keys nobody issued", async () => {
    const owner = await createUser(kw, "member");
    const { key } = await kw.keys.create(owner.actor, { name: "svc", scopes: ["read"] });
    const tampered = key.slice(0, 10) + (key[10] === "a" ? "b" : "a") + key.slice(11);
    for (const presented of ["", "kw_", key.slice(0, -1), `${key} `, key.toUpperCase(), tampered, `Bearer ${key}`, generateKey()]) {
      expect((await kw.keys.authenticate(presented)).code, presented).toBe("INVALID");
    }
  });

  it("returns REVOKED, DISABLED and EXPIRED for keys in those states, and VALID again after enable", async () => {
    const owner = await createUser(kw, "member");
    const revoked = await kw.keys.create(owner.actor, { name: "r", scopes: ["read"] });
    const disabled = await kw.keys.create(owner.actor, { name: "d", scopes: ["read"] });
    const expiring = await kw.keys.create(owner.actor, { name: "e", scopes: ["read"], expiresInDays: 7 });
    await kw.keys.revoke(owner.actor, revoked.apiKey.id);
    await kw.keys.disable(owner.actor, disabled.apiKey.id);
    expect((await kw.keys.authenticate(revoked.key)).code).toBe("REVOKED");
    expect((await kw.keys.authenticate(disabled.key)).code).toBe("DISABLED");
    await kw.keys.enable(owner.actor, disabled.apiKey.id);
    expect((await kw.keys.authenticate(disabled.key)).code).toBe("VALID");
    expect((await kw.keys.authenticate(expiring.key)).code).toBe("VALID");
    clock.advance(7 * 86_400_000);
    expect((await kw.keys.authenticate(expiring.key)).code).toBe("EXPIRED");
  });

  it("returns DISABLED for every key of a disabled owner, and VALID again once the owner is enabled", async () => {
    const owner = await createUser(kw, "member");
    const { key } = await kw.keys.create(owner.actor, { name: "svc", scopes: ["read"] });
    await kw.users.disable(system, owner.id);
    expect((await kw.keys.authenticate(key)).code).toBe("DISABLED");
    await kw.users.enable(system, owner.id);
    expect((await kw.keys.authenticate(key)).code).toBe("VALID");
  });

  it("drops the admin scope of a demoted owner's key at once, and gives it back on promotion", async () => {
    const owner = await createUser(kw, "admin");
    const { key } = await kw.keys.create(owner.actor, { name: "ops", scopes: ["admin"] });
    const before = await kw.keys.authenticate(key);
    expect(before.code === "VALID" && before.key.scopes).toEqual(["read", "write", "admin"]);
    await kw.users.setRole(system, owner.id, "member");
    const after = await kw.keys.authenticate(key);
    expect(after.code).toBe("VALID");
    expect(after.code === "VALID" && after.key).toMatchObject({ ownerRole: "member", scopes: ["read", "write"] });
    await kw.users.setRole(system, owner.id, "admin");
    const promoted = await kw.keys.authenticate(key);
    expect(promoted.code === "VALID" && promoted.key.scopes).toEqual(["read", "write", "admin"]);
  });
});

describe("secret rotation", () => {
  it("keeps keys made under the old secret working once the config moves to version 2 with the old one as previous", async () => {
    const owner = await createUser(kw, "member");
    const oldSecret = kw.config.digestSecrets.current.secret.toString("base64");
    expect(kw.config.digestSecrets.current.version).toBe(1);
    const { key: oldKey, apiKey: oldView } = await kw.keys.create(owner.actor, { name: "made under v1", scopes: ["read"] });

    const rotatedConfig = testConfig({
      KEYWARD_SECRET: serverSecrets().KEYWARD_SECRET,
      KEYWARD_SECRET_VERSION: "2",
      KEYWARD_PREVIOUS_SECRETS: `1:${oldSecret}`,
    });
    const rotated = new KeyService({
      db: kw.database.db,
      clock,
      secrets: rotatedConfig.digestSecrets,
      encryptionKey: kw.config.encryptionKey,
      defaultRateLimit: kw.config.rateLimits.defaultLimit,
    });
    const result = await rotated.authenticate(oldKey);
    expect(result.code).toBe("VALID");
    expect(result.code === "VALID" && result.key.id).toBe(oldView.id);

    // New keys are stored under the current secret, stamped with its version.
    const { key: newKey, apiKey: newView } = await rotated.create(owner.actor, { name: "made under v2", scopes: ["read"] });
    const [stored] = await kw.database.db.select({ digest: apiKeys.digest, version: apiKeys.digestVersion }).from(apiKeys).where(eq(apiKeys.id, newView.id));
    expect(stored).toEqual({ version: 2, digest: digestKey(newKey, rotatedConfig.digestSecrets.current.secret) });
    expect((await rotated.authenticate(newKey)).code).toBe("VALID");
    // The old configuration does not know the new secret.
    expect((await kw.keys.authenticate(newKey)).code).toBe("INVALID");

    // Once the old secret is dropped from the config, keys made under it stop working.
    const forgotten = new KeyService({
      db: kw.database.db,
      clock,
      secrets: testConfig({ KEYWARD_SECRET: rotatedConfig.digestSecrets.current.secret.toString("base64"), KEYWARD_SECRET_VERSION: "2" }).digestSecrets,
      encryptionKey: kw.config.encryptionKey,
      defaultRateLimit: kw.config.rateLimits.defaultLimit,
    });
    expect((await forgotten.authenticate(oldKey)).code).toBe("INVALID");
    expect((await forgotten.authenticate(newKey)).code).toBe("VALID");
  });

  it("matches a digest only under the version it was stored with", async () => {
    const owner = await createUser(kw, "member");
    const { key } = await kw.keys.create(owner.actor, { name: "v1", scopes: ["read"] });
    // The same secret bytes listed under another version must not match a row stamped version 1.
    const mislabelled = new KeyService({
      db: kw.database.db,
      clock,
      secrets: { current: { version: 7, secret: kw.config.digestSecrets.current.secret }, previous: [] },
      encryptionKey: kw.config.encryptionKey,
      defaultRateLimit: kw.config.rateLimits.defaultLimit,
    });
    expect((await mislabelled.authenticate(key)).code).toBe("INVALID");
  });
});
