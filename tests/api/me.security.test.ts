import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../app/services/clock.server";
import { system } from "../support/keyward";
import { call, expectProblem, setup, type Fixture } from "./support";

describe("GET /api/v1/me security", () => {
  const clock = new ManualClock(new Date("2026-11-25T12:00:00Z"));
  let f: Fixture;
  beforeAll(async () => {
    f = await setup({ clock });
  });
  afterAll(() => f.close());

  it("stops answering a key the moment it is revoked, disabled or expires, through the cache", async () => {
    const revoked = await f.createKey(f.member.id);
    const disabled = await f.createKey(f.member.id);
    const expiring = await f.createKey(f.member.id, { expiresInDays: 1 });
    // Warm the verification cache with each key.
    for (const { key } of [revoked, disabled, expiring]) expect((await call(f.app, "/api/v1/me", { key })).status).toBe(200);

    await f.app.keyward.keys.revoke(system, revoked.apiKey.id);
    await f.app.keyward.keys.disable(system, disabled.apiKey.id);
    clock.advance(2 * 86_400_000);

    expectProblem(await call(f.app, "/api/v1/me", { key: revoked.key }), 401, "key_revoked");
    expectProblem(await call(f.app, "/api/v1/me", { key: disabled.key }), 401, "key_disabled");
    expectProblem(await call(f.app, "/api/v1/me", { key: expiring.key }), 401, "key_expired");
  });

  it("refuses every key of a disabled owner", async () => {
    const user = await f.app.keyward.users.create(system, { email: "leaver@example.test", password: "correct horse battery staple" });
    const { key } = await f.createKey(user.id);
    expect((await call(f.app, "/api/v1/me", { key })).status).toBe(200);
    await f.app.keyward.users.disable(system, user.id);
    expectProblem(await call(f.app, "/api/v1/me", { key }), 401, "key_disabled");
  });
});
