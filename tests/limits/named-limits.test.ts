import fs from "node:fs";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "../../app/services/actor.server";
import type { VerifyOptions, VerifyResult } from "../../app/services/verification-cache.server";
import type { NamedRateLimit } from "../../db/schema";
import { redisTestsRun, startPrivateRedis, type PrivateRedis } from "../support/redis";
import { createUser, testKeyward, type TestKeyward } from "../support/keyward";

/**
 * Named limits of issued keys and identities, applied by verification: each limit under its own
 * id, the identity's shared by all its keys, chosen by name with a cost each. Runs per process
 * and through a Redis of the test's own.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const BURST: NamedRateLimit = { name: "burst", limit: 3, durationSeconds: 1 };
const DAILY: NamedRateLimit = { name: "daily", limit: 5, durationSeconds: 86_400 };

/** name → remaining, for the limits a verdict reports (in order). */
function remaining(result: VerifyResult): [string, number][] {
  if (result.code === "INVALID") throw new Error("INVALID carries no limits");
  return result.ratelimits.map((limit) => [limit.name, limit.remaining]);
}

function refusedBy(result: VerifyResult): string | null {
  return result.code === "RATE_LIMITED" ? result.ratelimit : null;
}

function namedLimitSuite(backend: string, redisUrl: () => string | undefined) {
  describe(`named rate limits (${backend})`, () => {
    let kw: TestKeyward;
    let owner: { id: string; actor: Actor };
    let apiId: string;

    beforeAll(async () => {
      kw = await testKeyward({ env: { REDIS_URL: redisUrl() } });
      owner = await createUser(kw, "member");
      apiId = (await kw.apis.create(owner.actor, { name: "Limited", prefix: `lim${backend.slice(0, 2)}` })).id;
    });
    afterAll(() => kw?.dispose());

    const issue = (input: Parameters<TestKeyward["keys"]["createIssued"]>[2]) => kw.keys.createIssued(owner.actor, apiId, input);
    const verify = (key: string, options: Omit<VerifyOptions, "caller"> = {}) => kw.verifier.verify(key, { caller: owner.actor, ...options });

    it("refuses the 4th verification within a second naming burst, and the 6th overall naming daily", async () => {
      const { key } = await issue({ ratelimits: [BURST, DAILY] });
      const first = [await verify(key), await verify(key), await verify(key), await verify(key)];
      expect(first.map((result) => result.code)).toEqual(["VALID", "VALID", "VALID", "RATE_LIMITED"]);
      expect(first.map(remaining)).toEqual([
        [["burst", 2], ["daily", 4]],
        [["burst", 1], ["daily", 3]],
        [["burst", 0], ["daily", 2]],
        // Every limit counts the request, the one that refused it too: daily took it.
        [["burst", 0], ["daily", 1]],
      ]);
      expect(refusedBy(first[3]!)).toBe("burst");

      const burstReset = Date.parse((first[3] as Extract<VerifyResult, { code: "RATE_LIMITED" }>).ratelimits[0]!.resetAt);
      await sleep(Math.max(burstReset - Date.now(), 0) + 100);
      const fifth = await verify(key);
      const sixth = await verify(key);
      expect(fifth.code).toBe("VALID");
      expect(remaining(fifth)).toEqual([["burst", 2], ["daily", 0]]);
      expect(sixth.code).toBe("RATE_LIMITED");
      expect(refusedBy(sixth)).toBe("daily");
      expect(remaining(sixth)).toEqual([["burst", 1], ["daily", 0]]);
    });

    it("reports each limit's size and the end of its window", async () => {
      const { key } = await issue({ ratelimits: [DAILY] });
      const before = Date.now();
      const result = await verify(key);
      if (result.code !== "VALID") throw new Error(result.code);
      const [daily] = result.ratelimits;
      expect(daily).toMatchObject({ name: "daily", limit: 5, remaining: 4 });
      const resetAt = Date.parse(daily!.resetAt);
      expect(resetAt).toBeGreaterThan(before + 86_000_000);
      expect(resetAt).toBeLessThanOrEqual(Date.now() + 86_400_000);
    });

    it("shares an identity's limit among its keys: the 5th verification across two keys is refused", async () => {
      const identity = await kw.identities.create(owner.actor, { apiId, externalId: `cust-${backend}`, ratelimits: [{ name: "shared", limit: 4, durationSeconds: 60 }] });
      expect(identity.ratelimits).toEqual([{ name: "shared", limit: 4, durationSeconds: 60 }]);
      const a = await issue({ identityId: identity.id });
      const b = await issue({ identityId: identity.id });
      const results = [];
      for (const key of [a.key, b.key, a.key, b.key, a.key]) results.push(await verify(key));
      expect(results.map((result) => result.code)).toEqual(["VALID", "VALID", "VALID", "VALID", "RATE_LIMITED"]);
      expect(results.map((result) => remaining(result)[0]![1])).toEqual([3, 2, 1, 0, 0]);
      expect(refusedBy(results[4]!)).toBe("shared");
    });

    it("applies a key limit and an identity limit of the same name both", async () => {
      const identity = await kw.identities.create(owner.actor, { apiId, externalId: `both-${backend}`, ratelimits: [{ name: "requests", limit: 2, durationSeconds: 60 }] });
      const { key } = await issue({ identityId: identity.id, ratelimits: [{ name: "requests", limit: 10, durationSeconds: 60 }] });
      const results = [await verify(key), await verify(key), await verify(key)];
      expect(results.map((result) => result.code)).toEqual(["VALID", "VALID", "RATE_LIMITED"]);
      expect(results.map(remaining)).toEqual([
        [["requests", 9], ["requests", 1]],
        [["requests", 8], ["requests", 0]],
        [["requests", 7], ["requests", 0]],
      ]);
    });

    it("takes an identity's new limits at the next verification (the change drops its keys' cached records)", async () => {
      const identity = await kw.identities.create(owner.actor, { apiId, externalId: `change-${backend}` });
      const { key } = await issue({ identityId: identity.id });
      expect(remaining(await verify(key))).toEqual([]);
      await kw.identities.update(owner.actor, identity.id, { ratelimits: [{ name: "tight", limit: 1, durationSeconds: 60 }] });
      expect((await verify(key)).code).toBe("VALID");
      const refused = await verify(key);
      expect(refusedBy(refused)).toBe("tight");
    });

    it("applies only the limits a request names, at its cost; unknown names are ignored", async () => {
      const { key } = await issue({ ratelimits: [BURST, DAILY] });
      for (let i = 0; i < 4; i++) expect((await verify(key, { ratelimits: [{ name: "daily" }] })).code).toBe("VALID");
      // Burst was never applied: its full budget is still there.
      const burstOnly = await verify(key, { ratelimits: [{ name: "burst" }] });
      expect(remaining(burstOnly)).toEqual([["burst", 2]]);
      expect(remaining(await verify(key, { ratelimits: [{ name: "nope" }] }))).toEqual([]);

      const { key: metered } = await issue({ ratelimits: [DAILY] });
      expect(remaining(await verify(metered, { ratelimits: [{ name: "daily", cost: 3 }] }))).toEqual([["daily", 2]]);
      const tooDear = await verify(metered, { ratelimits: [{ name: "daily", cost: 3 }] });
      expect(refusedBy(tooDear)).toBe("daily");
      // A cost that does not fit takes nothing: a cheaper request still does.
      expect(remaining(tooDear)).toEqual([["daily", 2]]);
      const fits = await verify(metered, { ratelimits: [{ name: "daily", cost: 2 }] });
      expect(fits.code).toBe("VALID");
      expect(remaining(fits)).toEqual([["daily", 0]]);
    });

    it("charges no credits for a rate-limited verification", async () => {
      const { key } = await issue({ ratelimits: [{ name: "once", limit: 1, durationSeconds: 60 }], credits: { remaining: 10 } });
      const [valid, limited] = [await verify(key), await verify(key)];
      expect(valid).toMatchObject({ code: "VALID", credits: { remaining: 9 } });
      expect(limited).toMatchObject({ code: "RATE_LIMITED", ratelimit: "once", credits: { remaining: 9 } });
    });

    it("reports no limits for a refusal before them, and carries limits on every identified verdict", async () => {
      const { key, apiKey } = await issue({ ratelimits: [DAILY], permissions: [] });
      const wrongApi = await verify(key, { apiId: "api_00000000000000000000" });
      expect(wrongApi).toMatchObject({ code: "WRONG_API", ratelimits: [] });
      await kw.keys.disable(owner.actor, apiKey.id);
      expect(await verify(key)).toMatchObject({ code: "DISABLED", ratelimits: [] });
    });

    it("keeps rateLimit as shorthand for the limit named requests, on create and update", async () => {
      const { apiKey } = await issue({ rateLimit: { requests: 7, windowSeconds: 60 } });
      expect(apiKey.ratelimits).toEqual([{ name: "requests", limit: 7, durationSeconds: 60 }]);
      expect(apiKey.rateLimit).toEqual({ requests: 7, windowSeconds: 60 });
      const added = await kw.keys.update(owner.actor, apiKey.id, { ratelimits: [{ name: "requests", limit: 7, durationSeconds: 60 }, DAILY] });
      expect(added.ratelimits.map((limit) => limit.name)).toEqual(["requests", "daily"]);
      const changed = await kw.keys.update(owner.actor, apiKey.id, { rateLimit: { requests: 2, windowSeconds: 1 } });
      expect(changed.ratelimits).toEqual([{ name: "requests", limit: 2, durationSeconds: 1 }, DAILY]);
      const removed = await kw.keys.update(owner.actor, apiKey.id, { rateLimit: null });
      expect(removed).toMatchObject({ ratelimits: [DAILY], rateLimit: null });
      const { apiKey: root } = await kw.keys.create(owner.actor, { name: "root", scopes: ["read"] });
      await expect(kw.keys.update(owner.actor, root.id, { ratelimits: [DAILY] })).rejects.toMatchObject({ code: "validation_failed" });
    });

    it("the migration turns an issued key's rateLimit into its limit named requests, and leaves root keys alone", async () => {
      const { apiKey: issued } = await issue({});
      const { apiKey: root } = await kw.keys.create(owner.actor, { name: "root", scopes: ["read"], rateLimit: { requests: 9, windowSeconds: 60 } });
      const { db } = kw.database;
      // The state before the migration: the single limit in rate_limit.
      await db.execute(sql`update api_keys set rate_limit = '{"requests": 4, "windowSeconds": 30}'::jsonb, ratelimits = '[]'::jsonb where id = ${issued.id}`);
      const migration = fs.readFileSync(path.join(__dirname, "../../db/migrations/0010_named_rate_limits.sql"), "utf8");
      const update = migration.split("--> statement-breakpoint").find((statement) => statement.includes("UPDATE"))!;
      await db.execute(sql.raw(update));
      expect((await kw.keys.get(owner.actor, issued.id)).ratelimits).toEqual([{ name: "requests", limit: 4, durationSeconds: 30 }]);
      expect(await kw.keys.get(owner.actor, root.id)).toMatchObject({ rateLimit: { requests: 9, windowSeconds: 60 }, ratelimits: [] });
    });
  });
}

namedLimitSuite("local", () => undefined);

describe.skipIf(!redisTestsRun)("over Redis", () => {
  let redis: PrivateRedis | undefined;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(() => redis?.close());
  namedLimitSuite("redis", () => redis!.url);
});
