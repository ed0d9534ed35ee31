import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { keyActor } from "../../app/services/actor.server";
import { ManualClock } from "../../app/services/clock.server";
import type { AuthenticatedKey } from "../../app/services/keys.server";
import type { UsageRecorder } from "../../app/services/usage.server";
import { createUser, testKeyward, type TestKeyward } from "../support/keyward";

/**
 * GET /api/v1/me answers from memory (KeyService.own with the view cache): these tests count the
 * database reads it makes, and check that every change that the view shows drops the entry.
 */
const clock = new ManualClock(new Date("2026-12-03T09:00:00Z"));
let kw: TestKeyward;

beforeAll(async () => {
  kw = await testKeyward({ clock });
  await createUser(kw, "admin");
});

afterAll(async () => {
  await kw?.dispose();
});

async function rootKey() {
  const owner = await createUser(kw, "member");
  const { key, apiKey } = await kw.keys.create(owner.actor, { name: "svc", scopes: ["write"] });
  const authenticated = await kw.keys.authenticate(key);
  if (authenticated.code !== "VALID") throw new Error(authenticated.code);
  return { owner, id: apiKey.id, actor: keyActor(authenticated.key as AuthenticatedKey) };
}

/** Database reads (selects) made by `run`. */
async function readsDuring(run: () => Promise<unknown>): Promise<number> {
  const select = vi.spyOn(kw.database.db, "select");
  try {
    await run();
    return select.mock.calls.length;
  } finally {
    select.mockRestore();
  }
}

describe("the calling key's own view", () => {
  it("is read from the database once, then answered from memory", async () => {
    const { id, actor } = await rootKey();
    expect(await readsDuring(() => kw.keys.own(actor))).toBe(1);
    expect(await readsDuring(async () => {
      for (let i = 0; i < 5; i++) expect((await kw.keys.own(actor)).id).toBe(id);
    })).toBe(0);
  });

  it("shows a change to the key at once: the change drops the entry", async () => {
    const { owner, id, actor } = await rootKey();
    await kw.keys.own(actor);
    await kw.keys.update(owner.actor, id, { name: "renamed" });
    expect((await kw.keys.own(actor)).name).toBe("renamed");
    await kw.keys.disable(owner.actor, id);
    expect((await kw.keys.own(actor)).status).toBe("disabled");
  });

  it("shows the last use and request count a usage flush wrote", async () => {
    const { id, actor } = await rootKey();
    expect((await kw.keys.own(actor)).requestCount).toBe(0);
    const usage = kw.usage as UsageRecorder;
    usage.record({ keyId: id, accepted: true, at: clock.now(), method: "GET", path: "/api/v1/me", status: 200, clientIp: "203.0.113.9", durationMs: 1, userAgent: null, requestId: "req_view" });
    await usage.flush();
    const view = await kw.keys.own(actor);
    expect(view.requestCount).toBe(1);
    expect(view.lastUsedIp).toBe("203.0.113.9");
  });

  it("derives the status at the moment of the call, not when the row was read", async () => {
    const owner = await createUser(kw, "member");
    const { key } = await kw.keys.create(owner.actor, { name: "short", scopes: ["read"], expiresAt: new Date(clock.now().getTime() + 60_000).toISOString() });
    const authenticated = await kw.keys.authenticate(key);
    if (authenticated.code !== "VALID") throw new Error(authenticated.code);
    const actor = keyActor(authenticated.key);
    expect((await kw.keys.own(actor)).status).toBe("active");
    clock.advance(61_000);
    expect((await kw.keys.own(actor)).status).toBe("expired");
  });

  it("is refused to an actor that is not a key", async () => {
    const { owner } = await rootKey();
    await expect(kw.keys.own(owner.actor)).rejects.toMatchObject({ code: "not_found" });
  });
});
