import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { apiKeys } from "../../db/schema";
import { createUser, system, testKeyward, type TestKeyward } from "../support/keyward";

let kw: TestKeyward;
let member: Awaited<ReturnType<typeof createUser>>;

beforeAll(async () => {
  kw = await testKeyward();
  member = await createUser(kw, "member");
});

afterAll(async () => {
  await kw?.dispose();
});

const successorsOf = (id: string) => kw.database.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.rotatedFrom, id));

describe("rotations of one key are serialised in the database", () => {
  it("10 concurrent rotations: exactly one succeeds, the rest are 409 conflict, and one successor exists", async () => {
    for (let round = 0; round < 3; round++) {
      const { apiKey } = await kw.keys.create(member.actor, { name: `raced ${round}`, scopes: ["read"], expiresInDays: 30 });
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => kw.keys.rotate(member.actor, apiKey.id, { gracePeriodSeconds: 3600 })));
      const succeeded = outcomes.filter((outcome) => outcome.status === "fulfilled");
      const refused = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
      expect(succeeded).toHaveLength(1);
      expect(refused.map((outcome) => (outcome.reason as { code?: string }).code)).toEqual(Array<string>(9).fill("conflict"));
      expect(await successorsOf(apiKey.id)).toHaveLength(1);
      // The winner's grace period stands: no later rotation shortened it.
      const winner = succeeded[0]!.value;
      expect((await kw.keys.get(system, apiKey.id)).expiresAt).toBe(winner.previous.expiresAt);
    }
  });

  it("a rotation racing a revocation either rotates first or finds the key revoked, never both", async () => {
    const { apiKey } = await kw.keys.create(member.actor, { name: "revoked in a race", scopes: ["read"] });
    const [rotated, revoked] = await Promise.allSettled([kw.keys.rotate(member.actor, apiKey.id), kw.keys.revoke(member.actor, apiKey.id)]);
    expect(revoked.status).toBe("fulfilled");
    const successors = await successorsOf(apiKey.id);
    if (rotated.status === "fulfilled") expect(successors).toHaveLength(1);
    else {
      expect((rotated.reason as { code?: string }).code).toBe("invalid_state");
      expect(successors).toHaveLength(0);
    }
  });
});
