import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKey } from "../../app/lib/key-format";
import { EventBus } from "../../app/services/events.server";
import type { KeyService } from "../../app/services/keys.server";
import { KeyVerifier, VerificationCache } from "../../app/services/verification-cache.server";
import { createUser, system, testKeyward, type TestKeyward } from "../support/keyward";

describe("the verification cache", () => {
  let keyward: TestKeyward;
  let ownerId: string;
  beforeAll(async () => {
    keyward = await testKeyward();
    ownerId = (await createUser(keyward, "admin")).id;
  });
  afterAll(() => keyward.dispose());

  /** A verifier over the real key service, counting the lookups that reach the database. */
  function verifier(options: { maxEntries?: number; ttlMs?: number; now?: () => number; before?: () => Promise<void> } = {}) {
    const cache = new VerificationCache({ maxEntries: options.maxEntries ?? 100, ttlMs: options.ttlMs ?? 30_000, now: options.now });
    const lookups = { count: 0 };
    const keys: Pick<KeyService, "authenticate"> = {
      async authenticate(presented) {
        lookups.count++;
        const result = await keyward.keys.authenticate(presented);
        await options.before?.();
        return result;
      },
    };
    return { cache, lookups, verifier: new KeyVerifier({ keys, secrets: keyward.config.digestSecrets, clock: keyward.clock, cache }) };
  }

  const newKey = async (scopes: ("read" | "write" | "admin")[] = ["read"]) => keyward.keys.create(system, { name: "cached", scopes, ownerId });

  it("serves a known key from memory after the first lookup, and an unknown one from the negative cache", async () => {
    const { key } = await newKey();
    const { verifier: v, lookups } = verifier();
    expect((await v.authenticate(key)).code).toBe("VALID");
    expect((await v.authenticate(key)).code).toBe("VALID");
    expect(lookups.count).toBe(1);
    const unknown = generateKey();
    expect((await v.authenticate(unknown)).code).toBe("INVALID");
    expect((await v.authenticate(unknown)).code).toBe("INVALID");
    expect(lookups.count).toBe(2);
    expect((await v.authenticate(key.slice(0, -1))).code).toBe("INVALID");
    expect(lookups.count).toBe(2); // malformed: refused before any lookup
  });

  it("keeps unknown digests apart: a flood of made-up keys never pushes a real one out, and the negative cache is bounded", async () => {
    const { key } = await newKey();
    const cache = new VerificationCache({ maxEntries: 2, ttlMs: 30_000, unknown: { maxEntries: 3, ttlMs: 30_000 } });
    let lookups = 0;
    const keys: Pick<KeyService, "authenticate"> = {
      authenticate: (presented) => {
        lookups++;
        return keyward.keys.authenticate(presented);
      },
    };
    const v = new KeyVerifier({ keys, secrets: keyward.config.digestSecrets, clock: keyward.clock, cache });
    await v.authenticate(key);
    const forged = Array.from({ length: 10 }, () => generateKey());
    for (const made of forged) expect((await v.authenticate(made)).code).toBe("INVALID");
    expect(cache.size).toBe(1);
    expect(cache.unknown.size).toBe(3);
    lookups = 0;
    expect((await v.authenticate(key)).code).toBe("VALID");
    await v.authenticate(forged.at(-1)!); // among the 3 most recent: remembered
    expect(lookups).toBe(0);
    await v.authenticate(forged[0]!); // forgotten: looked up again
    expect(lookups).toBe(1);
  });

  it("forgets an unknown digest after its TTL", async () => {
    let now = 0;
    const { verifier: v, cache, lookups } = verifier({ now: () => now });
    const unknown = generateKey();
    await v.authenticate(unknown);
    now = 599_999;
    await v.authenticate(unknown);
    expect(lookups.count).toBe(1);
    now = 600_000;
    await v.authenticate(unknown);
    expect(lookups.count).toBe(2);
    expect(cache.unknown.size).toBe(1);
  });

  it("is bounded: the least recently used entry goes first", async () => {
    const [a, b, c] = [await newKey(), await newKey(), await newKey()];
    const { verifier: v, cache, lookups } = verifier({ maxEntries: 2 });
    await v.authenticate(a.key);
    await v.authenticate(b.key);
    await v.authenticate(a.key); // a is now the most recent
    await v.authenticate(c.key); // evicts b
    expect(cache.size).toBe(2);
    expect(lookups.count).toBe(3);
    await v.authenticate(a.key);
    expect(lookups.count).toBe(3);
    await v.authenticate(b.key);
    expect(lookups.count).toBe(4);
  });

  it("expires entries after the TTL", async () => {
    const { key } = await newKey();
    let now = 0;
    const { verifier: v, lookups } = verifier({ ttlMs: 1000, now: () => now });
    await v.authenticate(key);
    now = 999;
    await v.authenticate(key);
    expect(lookups.count).toBe(1);
    now = 1000;
    await v.authenticate(key);
    expect(lookups.count).toBe(2);
  });

  it("drops a key when any instance announces a change to it over NOTIFY (PGlite too)", async () => {
    const { key, apiKey } = await newKey();
    const { verifier: v, cache, lookups } = verifier();
    const stop = cache.listen(keyward.events);
    try {
      await v.authenticate(key);
      // Another instance's bus on the same database: its NOTIFY reaches this one's LISTEN.
      const elsewhere = new EventBus(keyward.database);
      await elsewhere.publish({ type: "key.changed", keyId: apiKey.id });
      await expect.poll(() => cache.size, { timeout: 1000, interval: 10 }).toBe(0);
      await v.authenticate(key);
      expect(lookups.count).toBe(2);
    } finally {
      stop();
    }
  });

  it("drops every key of a user when the user changes", async () => {
    const other = await createUser(keyward, "member");
    const mine = await keyward.keys.create(system, { name: "a", scopes: ["read"], ownerId: other.id });
    const theirs = await newKey();
    const { verifier: v, cache } = verifier();
    await v.authenticate(mine.key);
    await v.authenticate(theirs.key);
    cache.apply({ type: "user.changed", userId: other.id });
    expect(cache.size).toBe(1);
  });

  it("drops every key of an API, or of an identity, when it changes", async () => {
    const actor = (await createUser(keyward, "member")).actor;
    const api = await keyward.apis.create(actor, { name: "cached", prefix: "cacheapi" });
    const customer = await keyward.keys.createIssued(actor, api.id, { externalId: "cached_customer" });
    const anonymous = await keyward.keys.createIssued(actor, api.id, {});
    const root = await newKey();
    const { verifier: v, cache } = verifier();
    for (const { key } of [customer, anonymous, root]) await v.authenticate(key);
    expect(cache.size).toBe(3);
    cache.apply({ type: "identity.changed", identityId: customer.apiKey.identityId! });
    expect(cache.size).toBe(2);
    cache.apply({ type: "api.changed", apiId: api.id });
    expect(cache.size).toBe(1);
  });

  it("never stores a lookup that raced an invalidation (it may hold the row from before the change)", async () => {
    const { key, apiKey } = await newKey();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let arrived!: () => void;
    const readDone = new Promise<void>((resolve) => (arrived = resolve));
    const { verifier: v, cache } = verifier({
      before: async () => {
        arrived();
        await gate;
      },
    });
    const stop = cache.listen(keyward.events);
    try {
      const pending = v.authenticate(key);
      await readDone; // the row was read while the key was still active…
      await keyward.keys.revoke(system, apiKey.id); // …then revoked (this instance invalidates at once)
      cache.apply({ type: "key.changed", keyId: apiKey.id });
      release();
      expect((await pending).code).toBe("VALID");
      expect(cache.size).toBe(0);
    } finally {
      stop();
    }
  });

  it("judges expiry on every hit, not only at lookup", async () => {
    const expiresAt = new Date(Date.now() + 400).toISOString();
    const { key } = await keyward.keys.create(system, { name: "short", scopes: ["read"], ownerId, expiresAt });
    const { verifier: v, lookups } = verifier();
    expect((await v.authenticate(key)).code).toBe("VALID");
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await v.authenticate(key)).code).toBe("EXPIRED");
    expect(lookups.count).toBe(1);
  });
});
