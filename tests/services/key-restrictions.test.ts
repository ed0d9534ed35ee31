import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { apiKeys } from "../../db/schema";
import { ConfigError } from "../../app/config.server";
import { LATEST_INSTANT, LONGEST_GRACE_MS } from "../../app/lib/dates";
import { MAX_GRACE_SECONDS, rateLimitWithin, type CreateKeyInput } from "../../app/lib/key-schemas";
import { keyActor, type Actor } from "../../app/services/actor.server";
import { ManualClock } from "../../app/services/clock.server";
import { createUser, system, testConfig, testKeyward, type TestKeyward } from "../support/keyward";

const DAY = 86_400_000;
const clock = new ManualClock(new Date("2026-11-25T09:00:00Z"));
let kw: TestKeyward;
let admin: Awaited<ReturnType<typeof createUser>>;
let member: Awaited<ReturnType<typeof createUser>>;

beforeAll(async () => {
  kw = await testKeyward({ clock, env: { KEYWARD_DEFAULT_RATE_LIMIT: "100/60", KEYWARD_MAX_RATE_LIMIT: "600/60" } });
  admin = await createUser(kw, "admin");
  member = await createUser(kw, "member");
});

afterAll(async () => {
  await kw?.dispose();
});

/** A key of `owner` and the actor it is when it calls, as the REST and tRPC edges build it. */
async function actingKey(owner: { id: string; role: "admin" | "member"; actor: Actor }, input: Partial<CreateKeyInput> = {}) {
  const { apiKey } = await kw.keys.create(system, { name: "acting", scopes: ["read", "write"], ownerId: owner.id, ...input });
  const actor = keyActor({ id: apiKey.id, ownerId: owner.id, ownerRole: owner.role, scopes: apiKey.scopes, allowedIps: apiKey.allowedIps, rateLimit: apiKey.rateLimit, expiresAt: apiKey.expiresAt });
  return { apiKey, actor };
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: { code?: string; details?: Record<string, unknown> }) => ({ code: error.code, field: error.details?.field }),
  );

describe("the order between rate limits", () => {
  it("is no more requests per window and no more per second on average", () => {
    const cases: [string, string, boolean][] = [
      ["5/60", "5/60", true],
      ["4/60", "5/60", true],
      ["5/120", "5/60", true],
      ["6/60", "5/60", false],
      ["5/30", "5/60", false],
      ["1000/3600", "5/1", false],
      ["5/1", "1000/3600", false],
      ["1/1", "1000/60", true],
      ["100/1", "1000/60", false],
    ];
    const parse = (text: string) => ({ requests: Number(text.split("/")[0]), windowSeconds: Number(text.split("/")[1]) });
    for (const [limit, bound, within] of cases) expect(rateLimitWithin(parse(limit), parse(bound)), `${limit} within ${bound}`).toBe(within);
  });

  it("KEYWARD_MAX_RATE_LIMIT is optional, parsed like the default, and the default must lie within it", () => {
    expect(testConfig().maxRateLimit).toBeUndefined();
    expect(testConfig({ KEYWARD_MAX_RATE_LIMIT: "5000/60" }).maxRateLimit).toEqual({ requests: 5000, windowSeconds: 60 });
    expect(() => testConfig({ KEYWARD_MAX_RATE_LIMIT: "fast" })).toThrow(/KEYWARD_MAX_RATE_LIMIT must look like/);
    expect(() => testConfig({ KEYWARD_MAX_RATE_LIMIT: "100/60" })).toThrow(ConfigError);
    expect(() => testConfig({ KEYWARD_MAX_RATE_LIMIT: "100/60", KEYWARD_DEFAULT_RATE_LIMIT: "100/60" })).not.toThrow();
  });

  it("the longest grace period has one definition", () => {
    expect(MAX_GRACE_SECONDS * 1000).toBe(LONGEST_GRACE_MS);
  });
});

describe("KEYWARD_MAX_RATE_LIMIT binds everyone", () => {
  it("refuses a session user and the CLI a looser rate limit with policy_violation", async () => {
    for (const actor of [member.actor, system]) {
      expect(await refusal(kw.keys.create(actor, { name: "fast", scopes: ["read"], ownerId: member.id, rateLimit: { requests: 601, windowSeconds: 60 } }))).toEqual({ code: "policy_violation", field: "rateLimit" });
    }
    const { apiKey } = await kw.keys.create(member.actor, { name: "bounded", scopes: ["read"], rateLimit: { requests: 600, windowSeconds: 60 } });
    expect(await refusal(kw.keys.update(member.actor, apiKey.id, { rateLimit: { requests: 11, windowSeconds: 1 } }))).toEqual({ code: "policy_violation", field: "rateLimit" });
  });
});

describe("KEYWARD_MAX_RATE_LIMIT binds named limits", () => {
  const limit = (name: string, count: number, seconds: number) => ({ name, limit: count, durationSeconds: seconds });

  it("refuses a key's or an identity's named limit looser than the bound on create, update and rotate, each limit on its own", async () => {
    const api = await kw.apis.create(member.actor, { name: "Bounded", prefix: "bounded" });
    // 600/60 allows 600 in a minute: a day of 600 is within; a day of 601 is a burst of 601, and 11/1 a faster rate.
    for (const looser of [limit("daily", 601, 86_400), limit("burst", 11, 1)]) {
      for (const actor of [member.actor, system]) {
        expect(await refusal(kw.keys.createIssued(actor, api.id, { ratelimits: [limit("ok", 10, 1), looser] }))).toEqual({ code: "policy_violation", field: "ratelimits" });
        expect(await refusal(kw.identities.create(actor, { apiId: api.id, externalId: `too-loose-${looser.name}`, ratelimits: [looser] }))).toEqual({ code: "policy_violation", field: "ratelimits" });
      }
    }
    expect(await refusal(kw.keys.createIssued(member.actor, api.id, { rateLimit: { requests: 601, windowSeconds: 60 } }))).toEqual({ code: "policy_violation", field: "rateLimit" });
    const { apiKey } = await kw.keys.createIssued(member.actor, api.id, { externalId: "bounded-customer", ratelimits: [limit("burst", 10, 1), limit("daily", 600, 86_400)] });
    expect(await refusal(kw.keys.update(member.actor, apiKey.id, { ratelimits: [limit("daily", 100_000, 86_400)] }))).toEqual({ code: "policy_violation", field: "ratelimits" });
    expect(await refusal(kw.keys.update(member.actor, apiKey.id, { rateLimit: { requests: 601, windowSeconds: 60 } }))).toEqual({ code: "policy_violation", field: "rateLimit" });
    expect((await kw.keys.get(member.actor, apiKey.id)).ratelimits).toEqual([limit("burst", 10, 1), limit("daily", 600, 86_400)]);
    const identity = (await kw.identities.list(member.actor, { apiId: api.id, externalId: "bounded-customer" })).data[0]!;
    expect(await refusal(kw.identities.update(member.actor, identity.id, { ratelimits: [limit("shared", 601, 3_600)] }))).toEqual({ code: "policy_violation", field: "ratelimits" });
    expect((await kw.identities.update(member.actor, identity.id, { ratelimits: [limit("shared", 600, 3_600)] })).ratelimits).toEqual([limit("shared", 600, 3_600)]);
    // A key given more before the bound was set is not rotated into a new key with it.
    await kw.database.db.update(apiKeys).set({ ratelimits: [limit("daily", 100_000, 86_400)] }).where(eq(apiKeys.id, apiKey.id));
    expect(await refusal(kw.keys.rotate(member.actor, apiKey.id))).toEqual({ code: "policy_violation", field: "ratelimits" });
  });
});

describe("a key acting on keys", () => {
  it("compares allowlists as networks, for both address families", async () => {
    const { actor } = await actingKey(member, { allowedIps: ["10.0.0.0/8", "2001:db8::/32"], rateLimit: { requests: 50, windowSeconds: 60 } });
    const mint = (allowedIps: string[]) => refusal(kw.keys.create(actor, { name: "child", scopes: ["read"], allowedIps, rateLimit: { requests: 50, windowSeconds: 60 } }));
    for (const inside of [["10.0.0.0/8"], ["10.1.2.3"], ["10.200.0.0/16", "2001:db8:1::/48"], ["2001:db8::1"]]) expect(await mint(inside), inside.join()).toBeNull();
    for (const outside of [[], ["10.0.0.0/7"], ["11.0.0.1"], ["2001:db9::/32"], ["2001:db8::/31"], ["::ffff:11.0.0.1"], ["0.0.0.0/0"], ["::/0"]]) {
      expect(await mint(outside), outside.join()).toEqual({ code: "forbidden", field: "allowedIps" });
    }
  });

  it("with no rate limit of its own is held to the operator's default", async () => {
    const { actor } = await actingKey(member);
    expect(await refusal(kw.keys.create(actor, { name: "child", scopes: ["read"], rateLimit: { requests: 101, windowSeconds: 60 } }))).toEqual({ code: "forbidden", field: "rateLimit" });
    expect(await refusal(kw.keys.create(actor, { name: "child", scopes: ["read"] }))).toBeNull();
    expect(await refusal(kw.keys.create(actor, { name: "child", scopes: ["read"], rateLimit: { requests: 100, windowSeconds: 60 } }))).toBeNull();
  });

  it("cannot enable or reveal a key less restricted than itself", async () => {
    const { actor } = await actingKey(admin, { scopes: ["admin"], allowedIps: ["192.0.2.0/24"] });
    const { apiKey: open } = await kw.keys.create(admin.actor, { name: "open", scopes: ["read"], recoverable: true });
    await kw.keys.disable(admin.actor, open.id);
    expect(await refusal(kw.keys.enable(actor, open.id))).toEqual({ code: "forbidden", field: "allowedIps" });
    expect(await refusal(kw.keys.reveal(actor, open.id))).toEqual({ code: "forbidden", field: "allowedIps" });
    expect((await kw.keys.get(system, open.id)).status).toBe("disabled");
  });

  it("rotates a key within it into a successor that expires no later than itself", async () => {
    const { actor, apiKey: acting } = await actingKey(member, { expiresInDays: 10, rateLimit: { requests: 50, windowSeconds: 60 } });
    const { apiKey: target } = await kw.keys.create(actor, { name: "child", scopes: ["read"], expiresInDays: 9, rateLimit: { requests: 50, windowSeconds: 60 } });
    clock.advance(5 * DAY);
    const { apiKey: successor } = await kw.keys.rotate(actor, target.id);
    // Its own lifetime (9 days from now) would outlive the acting key: it ends with it instead.
    expect(successor.expiresAt).toBe(acting.expiresAt);
  });

  it("may still disable and revoke itself", async () => {
    const { actor, apiKey } = await actingKey(member, { allowedIps: ["192.0.2.1"], expiresInDays: 1 });
    expect((await kw.keys.disable(actor, apiKey.id)).status).toBe("disabled");
    expect((await kw.keys.revoke(actor, apiKey.id)).status).toBe("revoked");
  });
});

describe("key expiries and the accepted date range", () => {
  it("refuses an expiresAt past the range in the service too (the CLI does not pass the edges' schemas)", async () => {
    expect(await refusal(kw.keys.create(system, { name: "far", scopes: ["read"], ownerId: member.id, expiresAt: "9999-12-31T00:00:00Z" }))).toEqual({ code: "validation_failed", field: "expiresAt" });
  });

  it("caps a successor at the range's end when the rotated key expires past it", async () => {
    const { apiKey } = await kw.keys.create(member.actor, { name: "forever-ish", scopes: ["read"] });
    await kw.database.db.update(apiKeys).set({ expiresAt: new Date("9999-12-31T23:59:59Z") }).where(eq(apiKeys.id, apiKey.id));
    const { apiKey: successor, previous } = await kw.keys.rotate(member.actor, apiKey.id, { gracePeriodSeconds: MAX_GRACE_SECONDS });
    expect(successor.expiresAt).toBe(LATEST_INSTANT.toISOString());
    expect(previous.expiresAt).toBe(new Date(clock.now().getTime() + LONGEST_GRACE_MS).toISOString());
  });
});
