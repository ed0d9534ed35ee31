import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currentCredits } from "../../app/lib/credits";
import type { Actor } from "../../app/services/actor.server";
import { ManualClock } from "../../app/services/clock.server";
import type { Keyward } from "../../app/services/keyward.server";
import type { VerifyResult } from "../../app/services/verification-cache.server";
import { call, expectProblem, setup, type Fixture } from "../api/support";
import { createUser, system, testKeyward, type TestKeyward } from "../support/keyward";
import { expectEvery } from "../support/expect";
import { twoInstancesOnPostgres } from "../support/two-instances";

/**
 * Credits are exact: a VALID verification takes `cost` in one atomic UPDATE (the row lock orders
 * concurrent ones), a refusal takes nothing, and refills happen on the UTC calendar even for a
 * key nobody verified. Runs on PGlite, and on Postgres with DATABASE_URL (then also across two
 * app processes).
 */
const codes = (results: VerifyResult[]) => results.reduce<Record<string, number>>((count, result) => ({ ...count, [result.code]: (count[result.code] ?? 0) + 1 }), {});
const remainingOf = (result: VerifyResult) => (result.code === "INVALID" ? undefined : result.credits?.remaining);

describe("credits at verification", () => {
  const clock = new ManualClock(new Date("2026-04-10T12:00:00Z"));
  let kw: TestKeyward;
  let owner: { id: string; actor: Actor };
  let apiId: string;

  beforeAll(async () => {
    kw = await testKeyward({ clock });
    owner = await createUser(kw, "member");
    apiId = (await kw.apis.create(owner.actor, { name: "Metered", prefix: "metered" })).id;
  });
  afterAll(() => kw?.dispose());

  const issue = (credits: Parameters<Keyward["keys"]["createIssued"]>[2]["credits"]) =>
    kw.keys.createIssued(owner.actor, apiId, { credits, rateLimit: { requests: 1000, windowSeconds: 60 } });
  const verify = (key: string, cost?: number) => kw.verifier.verify(key, { caller: owner.actor, cost });

  it("50 concurrent verifications of a key with 20 credits: exactly 20 VALID, 30 USAGE_EXCEEDED, 0 left", async () => {
    const { key, apiKey } = await issue({ remaining: 20 });
    const results = await Promise.all(Array.from({ length: 50 }, () => verify(key)));
    expect(codes(results)).toEqual({ VALID: 20, USAGE_EXCEEDED: 30 });
    // Each VALID saw its own balance: 19 down to 0, each once.
    expect(results.filter((r) => r.valid).map(remainingOf).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expectEvery(results.filter((r) => !r.valid), (r) => remainingOf(r) === 0);
    expect((await kw.keys.get(owner.actor, apiKey.id)).credits).toMatchObject({ remaining: 0 });
  });

  it("concurrent charges of mixed cost are answered as if made one by one, covered or not", async () => {
    // Covered: settled together, each answer the balance its own charge left in one serial order.
    const costs = [3, 0, 5, 2];
    const covered = await issue({ remaining: 100 });
    const first = await Promise.all(costs.map((cost) => verify(covered.key, cost)));
    expect(serialOrderOf(costs, first, 100), JSON.stringify(first.map(remainingOf))).not.toBeNull();
    expectEvery(first, (r) => r.code === "VALID");
    // Not covered (5 left for 3 + 3 + 2): whatever the order, two fit, one is refused and takes nothing.
    const short = await issue({ remaining: 5 });
    const second = await Promise.all([3, 3, 2].map((cost) => verify(short.key, cost)));
    expect(serialOrderOf([3, 3, 2], second, 5), JSON.stringify(second.map((r) => [r.code, remainingOf(r)]))).not.toBeNull();
    expect(codes(second)).toEqual({ VALID: 2, USAGE_EXCEEDED: 1 });
    expect((await kw.keys.get(owner.actor, short.apiKey.id)).credits?.remaining).toBe(0);
    expect((await kw.keys.get(owner.actor, covered.apiKey.id)).credits?.remaining).toBe(90);
  });

  it("cost 0 checks without charging; a cost above the balance is refused and takes nothing", async () => {
    const { key, apiKey } = await issue({ remaining: 5 });
    for (let i = 0; i < 3; i++) expect(await verify(key, 0)).toMatchObject({ valid: true, code: "VALID", credits: { remaining: 5 } });
    expect(await verify(key, 6)).toMatchObject({ valid: false, code: "USAGE_EXCEEDED", credits: { remaining: 5 } });
    expect(await verify(key, 5)).toMatchObject({ valid: true, credits: { remaining: 0 } });
    // Nothing left: cost 0 still passes, cost 1 does not.
    expect(await verify(key, 0)).toMatchObject({ valid: true, credits: { remaining: 0 } });
    expect(await verify(key)).toMatchObject({ code: "USAGE_EXCEEDED", credits: { remaining: 0 } });
    expect((await kw.keys.get(owner.actor, apiKey.id)).credits?.remaining).toBe(0);
  });

  it("a key without credits is unlimited and says credits: null; refusals before the charge tell the balance and take nothing", async () => {
    const { key: unlimited } = await issue(undefined);
    expect(await verify(unlimited, 1000)).toMatchObject({ valid: true, credits: null });
    const { key, apiKey } = await issue({ remaining: 3 });
    expect(await kw.verifier.verify(key, { caller: owner.actor, permissions: ["orders.read"] })).toMatchObject({ code: "INSUFFICIENT_PERMISSIONS", credits: { remaining: 3 } });
    await kw.keys.disable(owner.actor, apiKey.id);
    expect(await verify(key)).toMatchObject({ code: "DISABLED", credits: { remaining: 3 } });
    await kw.keys.enable(owner.actor, apiKey.id);
    expect(await verify(key)).toMatchObject({ code: "VALID", credits: { remaining: 2 } });
  });

  it("a rate-limited request takes no credit", async () => {
    const { key, apiKey } = await kw.keys.createIssued(owner.actor, apiId, { credits: { remaining: 10 }, rateLimit: { requests: 2, windowSeconds: 3600 } });
    const results = [await verify(key), await verify(key), await verify(key)];
    expect(results.map((r) => r.code)).toEqual(["VALID", "VALID", "RATE_LIMITED"]);
    expect(remainingOf(results[2]!)).toBe(8);
    expect((await kw.keys.get(owner.actor, apiKey.id)).credits?.remaining).toBe(8);
  });

  it("refills daily at 00:00 UTC, also for a key nobody verified in between", async () => {
    clock.set(new Date("2026-04-10T12:00:00Z"));
    const { key, apiKey } = await issue({ remaining: 2, refill: { interval: "daily", amount: 2 } });
    expect((await kw.keys.get(owner.actor, apiKey.id)).credits).toEqual({ remaining: 2, refill: { interval: "daily", amount: 2 }, nextRefillAt: "2026-04-11T00:00:00.000Z" });
    await verify(key);
    await verify(key);
    clock.set(new Date("2026-04-10T23:59:59.999Z"));
    expect(await verify(key)).toMatchObject({ code: "USAGE_EXCEEDED", credits: { remaining: 0 } });
    clock.set(new Date("2026-04-11T00:00:00Z"));
    // The view refills before any verification writes it…
    expect((await kw.keys.get(owner.actor, apiKey.id)).credits).toMatchObject({ remaining: 2, nextRefillAt: "2026-04-12T00:00:00.000Z" });
    // …and the charge agrees, refilling once only.
    expect(await verify(key)).toMatchObject({ code: "VALID", credits: { remaining: 1 } });
    expect(await verify(key)).toMatchObject({ code: "VALID", credits: { remaining: 0 } });
    expect(await verify(key)).toMatchObject({ code: "USAGE_EXCEEDED" });
    // Three days unseen: one refill, not three.
    clock.set(new Date("2026-04-14T08:00:00Z"));
    expect(await verify(key)).toMatchObject({ code: "VALID", credits: { remaining: 1 } });
  });

  it("refills monthly on refillDay, on the month's last day when it is shorter (31 → 30 April)", async () => {
    clock.set(new Date("2026-03-31T10:00:00Z"));
    const { key, apiKey } = await issue({ remaining: 1, refill: { interval: "monthly", amount: 5, refillDay: 31 } });
    expect((await kw.keys.get(owner.actor, apiKey.id)).credits?.nextRefillAt).toBe("2026-04-30T00:00:00.000Z");
    expect(await verify(key)).toMatchObject({ code: "VALID", credits: { remaining: 0 } });
    clock.set(new Date("2026-04-29T23:59:59Z"));
    expect(await verify(key)).toMatchObject({ code: "USAGE_EXCEEDED", credits: { remaining: 0 } });
    clock.set(new Date("2026-04-30T00:00:00Z"));
    expect((await kw.keys.get(owner.actor, apiKey.id)).credits).toMatchObject({ remaining: 5, nextRefillAt: "2026-05-31T00:00:00.000Z" });
    expect(await verify(key)).toMatchObject({ code: "VALID", credits: { remaining: 4 } });
    clock.set(new Date("2026-05-30T23:00:00Z"));
    expect(await verify(key, 4)).toMatchObject({ code: "VALID", credits: { remaining: 0 } });
    clock.set(new Date("2026-05-31T00:00:00Z"));
    expect(await verify(key, 0)).toMatchObject({ code: "VALID", credits: { remaining: 5 } });
  });

  it("the view's schedule and the SQL charge agree at the edges of months and years", async () => {
    const cases: [string, number | undefined][] = [["2026-02-27T12:00:00Z", 30], ["2026-12-31T23:00:00Z", 1], ["2028-02-28T01:00:00Z", 29], ["2026-01-15T00:00:00Z", undefined]];
    for (const [start, refillDay] of cases) {
      clock.set(new Date(start));
      const { key, apiKey } = await issue({ remaining: 0, refill: { interval: "monthly", amount: 7, ...(refillDay && { refillDay }) } });
      const next = (await kw.keys.get(owner.actor, apiKey.id)).credits!.nextRefillAt!;
      clock.set(new Date(Date.parse(next) - 1));
      expect(await verify(key, 0), `${start} just before ${next}`).toMatchObject({ credits: { remaining: 0 } });
      clock.set(new Date(next));
      expect(await verify(key, 0), `${start} at ${next}`).toMatchObject({ credits: { remaining: 7 } });
    }
    expect(currentCredits({ creditsRemaining: 0, creditsRefill: { interval: "monthly", amount: 7, refillDay: 30 }, creditsRefilledAt: new Date("2026-02-27T12:00:00Z") }, new Date("2026-02-28T00:00:00Z"))).toMatchObject({
      remaining: 7,
      nextRefillAt: "2026-03-30T00:00:00.000Z",
    });
  });

  it("PATCH sets and adds credits, audited with before and after; root keys have no credits", async () => {
    clock.set(new Date("2026-06-01T12:00:00Z"));
    const { key, apiKey } = await issue(undefined);
    await expect(kw.keys.update(owner.actor, apiKey.id, { addCredits: 5 })).rejects.toMatchObject({ code: "validation_failed", details: { field: "addCredits" } });
    const set = await kw.keys.update(owner.actor, apiKey.id, { credits: { remaining: 10, refill: { interval: "daily", amount: 10 } } });
    expect(set.credits).toMatchObject({ remaining: 10, refill: { interval: "daily", amount: 10 } });
    await verify(key, 4);
    // Audit entries are ordered by time: one change per second.
    clock.advance(1000);
    const added = await kw.keys.update(owner.actor, apiKey.id, { addCredits: 100 });
    expect(added.credits).toMatchObject({ remaining: 106, refill: { interval: "daily", amount: 10 } });
    clock.advance(1000);
    const cleared = await kw.keys.update(owner.actor, apiKey.id, { credits: null });
    expect(cleared.credits).toBeNull();
    expect(await verify(key)).toMatchObject({ valid: true, credits: null });

    const { data } = await kw.audit.forKey(system, { keyId: apiKey.id });
    const changes = data.filter((entry) => entry.action === "key.updated").map((entry) => (entry.details as { changes: Record<string, unknown> }).changes.credits);
    expect(changes.reverse()).toEqual([
      { from: null, to: { remaining: 10, refill: { interval: "daily", amount: 10 } } },
      { from: { remaining: 6, refill: { interval: "daily", amount: 10 } }, to: { remaining: 106, refill: { interval: "daily", amount: 10 } } },
      { from: { remaining: 106, refill: { interval: "daily", amount: 10 } }, to: null },
    ]);

    const { apiKey: root } = await kw.keys.create(owner.actor, { name: "root", scopes: ["read"] });
    expect(root.credits).toBeNull();
    await expect(kw.keys.update(owner.actor, root.id, { credits: { remaining: 5 } })).rejects.toMatchObject({ code: "validation_failed", details: { field: "credits" } });
    await expect(kw.keys.update(owner.actor, root.id, { addCredits: 5 })).rejects.toMatchObject({ code: "validation_failed", details: { field: "addCredits" } });
  });
});

describe("credits through a rotation with grace: one balance, never minted", () => {
  const clock = new ManualClock(new Date("2026-05-10T12:00:00Z"));
  let kw: TestKeyward;
  let owner: { id: string; actor: Actor };
  let apiId: string;

  beforeAll(async () => {
    kw = await testKeyward({ clock });
    owner = await createUser(kw, "member");
    apiId = (await kw.apis.create(owner.actor, { name: "Rotated", prefix: "rotated" })).id;
  });
  afterAll(() => kw?.dispose());

  const verify = (key: string, cost?: number) => kw.verifier.verify(key, { caller: owner.actor, cost });
  const balances = async (...ids: string[]) => Promise.all(ids.map(async (id) => (await kw.keys.get(owner.actor, id)).credits?.remaining));

  it("the old key spends its successor's balance: old and new in parallel take exactly what was left", async () => {
    const { key: old, apiKey } = await kw.keys.createIssued(owner.actor, apiId, { credits: { remaining: 30, refill: { interval: "daily", amount: 30 } } });
    for (let i = 0; i < 5; i++) await verify(old);
    const rotated = await kw.keys.rotate(owner.actor, apiKey.id, { gracePeriodSeconds: 2 * 86_400 });
    expect(rotated.previous.credits).toMatchObject({ remaining: 25, refill: { interval: "daily", amount: 30 } });
    expect(rotated.apiKey.credits).toMatchObject({ remaining: 25, refill: { interval: "daily", amount: 30 } });
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => verify(i % 2 === 0 ? old : rotated.key)));
    expect(codes(results)).toEqual({ VALID: 25, USAGE_EXCEEDED: 35 });
    expect(results.filter((r) => r.valid).map(remainingOf).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(await balances(apiKey.id, rotated.apiKey.id)).toEqual([0, 0]);
    // The pool refills once, for both keys.
    clock.set(new Date("2026-05-11T00:00:01Z"));
    expect(await balances(apiKey.id, rotated.apiKey.id)).toEqual([30, 30]);
    expect(await verify(old)).toMatchObject({ valid: true, credits: { remaining: 29 } });
    expect(await verify(rotated.key)).toMatchObject({ valid: true, credits: { remaining: 28 } });
    const { data } = await kw.audit.forKey(system, { keyId: apiKey.id });
    expect(data.find((entry) => entry.action === "key.rotated")?.details).toMatchObject({ creditsSharedWith: rotated.apiKey.id });
  });

  it("charges racing the rotation itself, and a second rotation of the successor, still take no more than the balance", async () => {
    const { key: first, apiKey } = await kw.keys.createIssued(owner.actor, apiId, { credits: { remaining: 40 } });
    const racing = Array.from({ length: 20 }, () => verify(first));
    const rotation = kw.keys.rotate(owner.actor, apiKey.id, { gracePeriodSeconds: 3600 });
    const during = await Promise.all(racing);
    const second = await rotation;
    const third = await kw.keys.rotate(owner.actor, second.apiKey.id, { gracePeriodSeconds: 3600 });
    // The first key in grace now spends the third's balance too, as does the second.
    expect(new Set(await balances(apiKey.id, second.apiKey.id, third.apiKey.id)).size).toBe(1);
    const after = await Promise.all(Array.from({ length: 45 }, (_, i) => verify([first, second.key, third.key][i % 3]!)));
    expect(codes([...during, ...after])).toEqual({ VALID: 40, USAGE_EXCEEDED: 25 });
    expect(await balances(apiKey.id, second.apiKey.id, third.apiKey.id)).toEqual([0, 0, 0]);
  });

  it("credits are changed on the successor, where the balance lives; a rotated key without credits stays unlimited", async () => {
    const { key: old, apiKey } = await kw.keys.createIssued(owner.actor, apiId, { credits: { remaining: 1 } });
    const rotated = await kw.keys.rotate(owner.actor, apiKey.id, { gracePeriodSeconds: 600 });
    await expect(kw.keys.update(owner.actor, apiKey.id, { addCredits: 5 })).rejects.toMatchObject({ code: "invalid_state", details: { field: "addCredits" } });
    await expect(kw.keys.update(owner.actor, apiKey.id, { credits: { remaining: 100 } })).rejects.toMatchObject({ code: "invalid_state", details: { field: "credits" } });
    await kw.keys.update(owner.actor, rotated.apiKey.id, { addCredits: 2 });
    expect(await balances(apiKey.id)).toEqual([3]);
    expect(await verify(old, 3)).toMatchObject({ valid: true, credits: { remaining: 0 } });
    expect(await verify(rotated.key)).toMatchObject({ code: "USAGE_EXCEEDED" });
    // Unlimited on the successor: unlimited for the old key too.
    await kw.keys.update(owner.actor, rotated.apiKey.id, { credits: null });
    expect(await verify(old)).toMatchObject({ valid: true, credits: null });

    const { key: free, apiKey: freeKey } = await kw.keys.createIssued(owner.actor, apiId, {});
    const freeRotated = await kw.keys.rotate(owner.actor, freeKey.id, { gracePeriodSeconds: 600 });
    expect(freeRotated.previous.credits).toBeNull();
    expect(await verify(free, 10)).toMatchObject({ valid: true, credits: null });
  });
});

describe("credits over REST", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f?.close());

  it("issue with credits, verify, PATCH set and add; root keys refuse credits with 422", async () => {
    const api = (await call<{ id: string }>(f.app, "/api/v1/apis", { key: f.memberKey, method: "POST", body: { name: "Paid", prefix: "paid" } })).body;
    const created = await call<{ key: string; apiKey: { id: string; credits: unknown } }>(f.app, `/api/v1/apis/${api.id}/keys`, {
      key: f.memberKey,
      method: "POST",
      body: { credits: { remaining: 3, refill: { interval: "monthly", amount: 3, refillDay: 15 } } },
    });
    expect(created.status).toBe(201);
    expect(created.body.apiKey.credits).toMatchObject({ remaining: 3, refill: { interval: "monthly", amount: 3, refillDay: 15 }, nextRefillAt: expect.any(String) });
    const { key, apiKey } = created.body;
    const verify = (body: Record<string, never>) => call(f.app, "/api/v1/verify", { key: f.memberKey, method: "POST", body: { key, ...body } });
    expect((await verify({})).body).toMatchObject({ valid: true, code: "VALID", credits: { remaining: 2 } });
    expect((await verify({})).body).toMatchObject({ valid: true, credits: { remaining: 1 } });
    expect((await verify({})).body).toMatchObject({ valid: true, credits: { remaining: 0 } });
    expect((await verify({})).body).toMatchObject({ valid: false, code: "USAGE_EXCEEDED", credits: { remaining: 0 } });

    const patched = await call<{ credits: unknown }>(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey, method: "PATCH", body: { addCredits: 10 } });
    expect(patched.body.credits).toMatchObject({ remaining: 10 });
    expect((await verify({})).body).toMatchObject({ valid: true, credits: { remaining: 9 } });
    expectProblem(await call(f.app, `/api/v1/keys/${apiKey.id}`, { key: f.memberKey, method: "PATCH", body: { addCredits: 1, credits: { remaining: 1 } } }), 422, "validation_failed");
    expectProblem(await call(f.app, `/api/v1/apis/${api.id}/keys`, { key: f.memberKey, method: "POST", body: { credits: { remaining: 1, refill: { interval: "daily", amount: 1, refillDay: 3 } } } }), 422, "validation_failed");

    const root = await f.createKey(f.member.id, { name: "root" });
    expectProblem(await call(f.app, `/api/v1/keys/${root.apiKey.id}`, { key: f.memberKey, method: "PATCH", body: { credits: { remaining: 5 } } }), 422, "validation_failed");
    expectProblem(await call(f.app, "/api/v1/keys", { key: f.memberKey, method: "POST", body: { name: "root", scopes: ["read"], credits: { remaining: 5 } } }), 422, "validation_failed");
  });
});

/** Two app processes charging one key on one Postgres: PGlite refuses a second process, so Postgres only. */
describe.skipIf(!process.env.DATABASE_URL)("credits across two app instances on one Postgres", () => {
  const cluster = twoInstancesOnPostgres("credits");
  const { instances } = cluster;

  it("50 verifications split over both instances at once: exactly 20 VALID, 30 USAGE_EXCEEDED, 0 left", async () => {
    const owner = await createUser(cluster.keyward, "member");
    const { key: rootKey } = await cluster.keyward.keys.create(system, { name: "service", scopes: ["read"], ownerId: owner.id });
    const api = await cluster.keyward.apis.create(owner.actor, { name: "Shared", prefix: "shared" });
    const { key, apiKey } = await cluster.keyward.keys.createIssued(owner.actor, api.id, { credits: { remaining: 20 }, rateLimit: { requests: 1000, windowSeconds: 60 } });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        fetch(`${instances[i % 2]!.url}/api/v1/verify`, { method: "POST", headers: { Authorization: `Bearer ${rootKey}`, "Content-Type": "application/json" }, body: JSON.stringify({ key }) }).then(
          (response) => response.json() as Promise<VerifyResult>,
        ),
      ),
    );
    expect(codes(results)).toEqual({ VALID: 20, USAGE_EXCEEDED: 30 });
    expect(results.filter((r) => r.valid).map(remainingOf).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect((await cluster.keyward.keys.get(system, apiKey.id)).credits?.remaining).toBe(0);
  }, 60_000);

  it("a rotated key and its successor spending in parallel over both instances take exactly the balance", async () => {
    const owner = await createUser(cluster.keyward, "member");
    const { key: rootKey } = await cluster.keyward.keys.create(system, { name: "service", scopes: ["read"], ownerId: owner.id });
    const api = await cluster.keyward.apis.create(owner.actor, { name: "Rotating", prefix: "rotating" });
    const { key: old, apiKey } = await cluster.keyward.keys.createIssued(owner.actor, api.id, { credits: { remaining: 20 } });
    const { key: successor, apiKey: next } = await cluster.keyward.keys.rotate(owner.actor, apiKey.id, { gracePeriodSeconds: 3600 });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        fetch(`${instances[i % 2]!.url}/api/v1/verify`, { method: "POST", headers: { Authorization: `Bearer ${rootKey}`, "Content-Type": "application/json" }, body: JSON.stringify({ key: i % 4 < 2 ? old : successor }) }).then(
          (response) => response.json() as Promise<VerifyResult>,
        ),
      ),
    );
    expect(codes(results)).toEqual({ VALID: 20, USAGE_EXCEEDED: 30 });
    expect((await cluster.keyward.keys.get(system, next.id)).credits?.remaining).toBe(0);
    expect((await cluster.keyward.keys.get(system, apiKey.id)).credits?.remaining).toBe(0);
  }, 60_000);
});

/**
 * An order in which charges of these costs, made one at a time from `balance`, give exactly these
 * answers (each VALID leaves its cost taken, each USAGE_EXCEEDED takes nothing); null when none does.
 */
function serialOrderOf(costs: number[], results: VerifyResult[], balance: number): number[] | null {
  const permutations = (items: number[]): number[][] => (items.length <= 1 ? [items] : items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest])));
  for (const order of permutations(costs.map((_, i) => i))) {
    let left = balance;
    const fits = order.every((i) => {
      const expected = costs[i]! <= left ? "VALID" : "USAGE_EXCEEDED";
      if (expected === "VALID") left -= costs[i]!;
      return results[i]!.code === expected && remainingOf(results[i]!) === left;
    });
    if (fits) return order;
  }
  return null;
}
