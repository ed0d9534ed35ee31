import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeywardEvent } from "../../app/services/events.server";
import { eventStreamResponse, type LiveEvent } from "../../app/services/live.server";
import type { UsageRecorder } from "../../app/services/usage.server";
import { createUser, system, TEST_PASSWORD } from "../support/keyward";
import { login, startApp, type RunningApp } from "../support/server";
import { openStream, SseReader } from "../support/sse";

const listenerCount = (app: RunningApp) => (app.keyward.events["listeners"] as Set<unknown>).size;

/** Waits until the bus has `count` listeners (closing a stream unsubscribes asynchronously). */
async function listenersBecome(app: RunningApp, count: number): Promise<number> {
  const deadline = Date.now() + 3000;
  while (listenerCount(app) !== count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return listenerCount(app);
}

describe("live events over Server-Sent Events", () => {
  let app: RunningApp;
  let admin: Awaited<ReturnType<typeof createUser>>;
  let alice: Awaited<ReturnType<typeof createUser>>;
  let bob: Awaited<ReturnType<typeof createUser>>;
  let adminCookie: string;
  let aliceCookie: string;
  /** Listeners of the app itself (verification cache…), before any stream. */
  let idle: number;

  beforeAll(async () => {
    app = await startApp({ env: { KEYWARD_USAGE_FLUSH_MS: "60000" } });
    admin = await createUser(app.keyward, "admin");
    alice = await createUser(app.keyward, "member");
    bob = await createUser(app.keyward, "member");
    adminCookie = await login(app, admin.email, TEST_PASSWORD);
    aliceCookie = await login(app, alice.email, TEST_PASSWORD);
    idle = listenerCount(app);
  });
  afterAll(() => app?.close());

  it("the dashboard stream needs a session: 401, not a redirect to the login page", async () => {
    const anonymous = await fetch(`${app.url}/api/events`, { redirect: "manual" });
    expect(anonymous.status).toBe(401);
    const forged = await fetch(`${app.url}/api/events`, { redirect: "manual", headers: { Cookie: "keyward_session=not-a-session" } });
    expect(forged.status).toBe(401);
  });

  it("the SDK stream needs a key with the read scope: 401 without one or with a bad one", async () => {
    const missing = await fetch(`${app.url}/api/v1/events`);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { code: string }).code).toBe("missing_credentials");
    const bad = await fetch(`${app.url}/api/v1/events`, { headers: { Authorization: `Bearer kw_${"a".repeat(61)}` } });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { code: string }).code).toBe("invalid_key");
    // A session cookie is no key.
    const cookieOnly = await fetch(`${app.url}/api/v1/events`, { headers: { Cookie: aliceCookie } });
    expect(cookieOnly.status).toBe(401);
  });

  it("opens an unbuffered event stream at once", async () => {
    const stream = await openStream(`${app.url}/api/events`, { Cookie: adminCookie, "Accept-Encoding": "gzip, br" });
    try {
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get("content-type")).toMatch(/^text\/event-stream/);
      expect(stream.response.headers.get("cache-control")).toContain("no-cache");
      expect(stream.response.headers.get("x-accel-buffering")).toBe("no");
      // Compression would hold the first bytes back until a buffer fills.
      expect(stream.response.headers.get("content-encoding")).toBeNull();
      await stream.reader!.until(() => stream.reader!.messages.some((m) => m.event === "ready"), "the ready event", 2000);
    } finally {
      stream.close();
    }
  });

  it("admins get every event; a member only events about their own keys and themselves", async () => {
    const aliceKey = await app.keyward.keys.create(alice.actor, { name: "alice's", scopes: ["read"] });
    const bobKey = await app.keyward.keys.create(bob.actor, { name: "bob's", scopes: ["read"] });
    // Streams of earlier tests are gone.
    expect(await listenersBecome(app, idle)).toBe(idle);
    const adminStream = await openStream(`${app.url}/api/events`, { Cookie: adminCookie });
    const aliceStream = await openStream(`${app.url}/api/events`, { Cookie: aliceCookie });
    try {
      for (const s of [adminStream, aliceStream]) await s.reader!.until(() => s.reader!.messages.some((m) => m.event === "ready"), "ready");

      await app.keyward.keys.disable(bob.actor, bobKey.apiKey.id);
      await app.keyward.events.publish({ type: "alert.changed", alertId: "alr_00000000000000000000" } as KeywardEvent);
      await app.keyward.events.publish({ type: "some.future.event", id: "x" } as unknown as KeywardEvent);
      await app.keyward.events.publish({ type: "user.changed", userId: bob.id });
      // Both keys are used; one flush announces both ids.
      for (const { key } of [aliceKey, bobKey]) await fetch(`${app.url}/api/v1/me`, { headers: { Authorization: `Bearer ${key}` } });
      await (app.keyward.usage as UsageRecorder).flush();
      // Last, a change to Alice's key: the deliveries keep bus order, so everything before it has been decided.
      await app.keyward.keys.update(alice.actor, aliceKey.apiKey.id, { description: "marker" });

      const isMarker = (event: LiveEvent) => event.type === "key.changed" && event.keyId === aliceKey.apiKey.id;
      await aliceStream.reader!.until(() => aliceStream.reader!.events.some(isMarker), "alice's marker");
      await adminStream.reader!.until(() => adminStream.reader!.events.some(isMarker), "admin's marker");

      expect(aliceStream.reader!.events).toEqual([
        { type: "usage.flushed", keyIds: [aliceKey.apiKey.id] },
        { type: "key.changed", keyId: aliceKey.apiKey.id },
      ]);
      const adminEvents = adminStream.reader!.events;
      expect(adminEvents.map((event) => event.type)).toEqual(["key.changed", "alert.changed", "some.future.event", "user.changed", "usage.flushed", "key.changed"]);
      expect(adminEvents[0]).toEqual({ type: "key.changed", keyId: bobKey.apiKey.id });
      expect(new Set((adminEvents[4] as { keyIds: string[] }).keyIds)).toEqual(new Set([aliceKey.apiKey.id, bobKey.apiKey.id]));
      // Ids only: nothing in the stream looks like a key or a digest.
      expect(JSON.stringify(adminStream.reader!.messages)).not.toMatch(/kw_[0-9A-Za-z]{20}/);
      expect(listenerCount(app)).toBe(idle + 2);
    } finally {
      adminStream.close();
      aliceStream.close();
    }
    // The server unsubscribes once the clients have gone.
    expect(await listenersBecome(app, idle)).toBe(idle);
  });

  it("a member's stream ends when their own account changes, so the reconnect is checked again", async () => {
    const carol = await createUser(app.keyward, "member");
    const cookie = await login(app, carol.email, TEST_PASSWORD);
    const stream = await openStream(`${app.url}/api/events`, { Cookie: cookie });
    try {
      await stream.reader!.until(() => stream.reader!.messages.some((m) => m.event === "ready"), "ready");
      await app.keyward.users.disable(system, carol.id);
      await stream.reader!.until(() => stream.reader!.ended, "the end of the stream");
      expect(stream.reader!.events).toContainEqual({ type: "user.changed", userId: carol.id });
      // And the session is gone, so it cannot come back.
      expect((await fetch(`${app.url}/api/events`, { headers: { Cookie: cookie } })).status).toBe(401);
    } finally {
      stream.close();
    }
  });

  it("the SDK stream carries the key owner's key and usage events, and ends when the calling key is revoked", async () => {
    const watcher = await app.keyward.keys.create(alice.actor, { name: "sdk watcher", scopes: ["read"] });
    const other = await app.keyward.keys.create(alice.actor, { name: "alice's other", scopes: ["read"] });
    const bobKey = await app.keyward.keys.create(bob.actor, { name: "bob's other", scopes: ["read"] });
    const stream = await openStream(`${app.url}/api/v1/events`, { Authorization: `Bearer ${watcher.key}` });
    try {
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get("content-type")).toMatch(/^text\/event-stream/);
      await stream.reader!.until(() => stream.reader!.messages.some((m) => m.event === "ready"), "ready");
      await app.keyward.keys.revoke(bob.actor, bobKey.apiKey.id);
      await app.keyward.keys.revoke(alice.actor, other.apiKey.id);
      await stream.reader!.until(() => stream.reader!.events.some((e) => e.type === "key.changed" && e.keyId === other.apiKey.id), "the other key's change");
      expect(stream.reader!.events.filter((e) => e.type === "key.changed")).toEqual([{ type: "key.changed", keyId: other.apiKey.id }]);

      await app.keyward.keys.revoke(alice.actor, watcher.apiKey.id);
      await stream.reader!.until(() => stream.reader!.ended, "the end of the stream");
      expect((await fetch(`${app.url}/api/v1/events`, { headers: { Authorization: `Bearer ${watcher.key}` } })).status).toBe(401);
    } finally {
      stream.close();
    }
  });

  it("sends a heartbeat comment, and closes once access is no longer allowed", async () => {
    const controller = new AbortController();
    let allowed = true;
    const response = eventStreamResponse({
      feed: app.keyward.live.feed,
      audience: { userId: admin.id, admin: true },
      signal: controller.signal,
      heartbeatMs: 50,
      stillAllowed: async () => allowed,
    });
    const reader = new SseReader(response.body!);
    await reader.until(() => reader.messages.some((m) => m.comment?.startsWith("heartbeat") ?? false), "a heartbeat", 2000);
    allowed = false;
    await reader.until(() => reader.ended, "the end of the stream", 2000);
    controller.abort();
  });
});
