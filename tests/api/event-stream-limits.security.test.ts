import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventStreamResponse, StreamSlots, type EventStreamOptions, type LiveFeed } from "../../app/services/live.server";
import { keywardEvents, type KeywardEvent } from "../../sdk/src/index";
import { createUser, TEST_PASSWORD } from "../support/keyward";
import { login, startApp, type RunningApp } from "../support/server";
import { openStream } from "../support/sse";

/**
 * Event streams are bounded: a key, and a signed-in user, may hold only so many open at once (per
 * instance), and every stream ends at a maximum age so its client reconnects and is authenticated
 * again. One key once held 900 streams and one session 1 200, each open forever.
 */

type Stream = Awaited<ReturnType<typeof openStream>>;

/** Streams `holder` (a key's or a user's id) holds open on `app`, as the server counts them. */
const openCount = (app: RunningApp, holder: string) => app.keyward.live.slots.count(holder);

const listenerCount = (app: RunningApp) => (app.keyward.events["listeners"] as Set<unknown>).size;

/** Opens `count` streams and waits until each is subscribed; a refused one fails the test. */
async function openAll(count: number, open: () => Promise<Stream>, into: Stream[]): Promise<void> {
  for (let i = 0; i < count; i++) {
    const stream = await open();
    into.push(stream);
    expect(stream.response.status, `stream ${i + 1} of ${count}`).toBe(200);
    await stream.reader!.ready();
  }
}

describe("at most KEYWARD_MAX_EVENT_STREAMS (default 10) streams per key and per user", () => {
  let app: RunningApp;
  let owner: Awaited<ReturnType<typeof createUser>>;
  /** Bus listeners of the app itself, before any stream. */
  let idle: number;

  beforeAll(async () => {
    app = await startApp();
    owner = await createUser(app.keyward, "member");
    idle = listenerCount(app);
  });
  afterAll(() => app?.close());

  const keyStream = (key: string) => openStream(`${app.url}/api/v1/events`, { Authorization: `Bearer ${key}` });
  const sessionStream = (cookie: string) => openStream(`${app.url}/api/events`, { Cookie: cookie });

  it("the 11th stream of a key gets 429 too_many_requests with Retry-After while 10 are open; another key is unaffected; closing one admits a new one", async () => {
    const first = await app.keyward.keys.create(owner.actor, { name: "follower", scopes: ["read"] });
    const second = await app.keyward.keys.create(owner.actor, { name: "another follower", scopes: ["read"] });
    const streams: Stream[] = [];
    try {
      await openAll(10, () => keyStream(first.key), streams);
      expect(openCount(app, first.apiKey.id)).toBe(10);

      const refused = await keyStream(first.key);
      streams.push(refused);
      expect(refused.response.status).toBe(429);
      expect(refused.response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(Number(refused.response.headers.get("retry-after"))).toBeGreaterThan(0);
      const problem = (await refused.response.json()) as { code: string; status: number; type: string; requestId: string };
      expect(problem).toMatchObject({ code: "too_many_requests", status: 429, type: "/docs/api#error-too_many_requests" });
      expect(problem.requestId).toBe(refused.response.headers.get("x-request-id"));
      expect(openCount(app, first.apiKey.id)).toBe(10);

      await openAll(1, () => keyStream(second.key), streams);
      expect(openCount(app, second.apiKey.id)).toBe(1);

      streams[0]!.close();
      // The server learns of the closed connection a moment later.
      await expect.poll(() => openCount(app, first.apiKey.id)).toBe(9);
      await openAll(1, () => keyStream(first.key), streams);
      expect(openCount(app, first.apiKey.id)).toBe(10);
    } finally {
      for (const stream of streams) stream.close();
    }
    await expect.poll(() => openCount(app, first.apiKey.id)).toBe(0);
    await expect.poll(() => openCount(app, second.apiKey.id)).toBe(0);
    await expect.poll(() => listenerCount(app)).toBe(idle);

    // Nothing leaked: the key gets its full 10 again.
    const again: Stream[] = [];
    try {
      await openAll(10, () => keyStream(first.key), again);
    } finally {
      for (const stream of again) stream.close();
    }
    await expect.poll(() => openCount(app, first.apiKey.id)).toBe(0);
  });

  it("a user holds at most 10 dashboard streams across all their sessions; another user, and the user's own keys, are unaffected", async () => {
    const carol = await createUser(app.keyward, "member");
    const dave = await createUser(app.keyward, "member");
    const laptop = await login(app, carol.email, TEST_PASSWORD);
    const phone = await login(app, carol.email, TEST_PASSWORD);
    const { key: carolsKey, apiKey } = await app.keyward.keys.create(carol.actor, { name: "carol's service", scopes: ["read"] });
    const streams: Stream[] = [];
    try {
      await openAll(5, () => sessionStream(laptop), streams);
      await openAll(5, () => sessionStream(phone), streams);
      expect(openCount(app, carol.id)).toBe(10);

      const refused = await sessionStream(phone);
      streams.push(refused);
      expect(refused.response.status).toBe(429);
      expect(Number(refused.response.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await refused.response.text()).toMatch(/already have 10 live update streams open/);

      await openAll(1, async () => sessionStream(await login(app, dave.email, TEST_PASSWORD)), streams);
      // A key's streams count per key, never against its owner's dashboard.
      await openAll(1, () => keyStream(carolsKey), streams);
      expect(openCount(app, carol.id)).toBe(10);
      expect(openCount(app, apiKey.id)).toBe(1);

      streams[0]!.close();
      await expect.poll(() => openCount(app, carol.id)).toBe(9);
      await openAll(1, () => sessionStream(laptop), streams);
      expect(openCount(app, carol.id)).toBe(10);
    } finally {
      for (const stream of streams) stream.close();
    }
    await expect.poll(() => openCount(app, carol.id)).toBe(0);
    await expect.poll(() => openCount(app, dave.id)).toBe(0);
    await expect.poll(() => listenerCount(app)).toBe(idle);
  });

  it("HEAD answers the stream's headers and holds neither a slot nor a subscription", async () => {
    const { key, apiKey } = await app.keyward.keys.create(owner.actor, { name: "prober", scopes: ["read"] });
    const cookie = await login(app, owner.email, TEST_PASSWORD);
    for (let i = 0; i < 12; i++) {
      const sdk = await fetch(`${app.url}/api/v1/events`, { method: "HEAD", headers: { Authorization: `Bearer ${key}` } });
      expect(sdk.status).toBe(200);
      expect(sdk.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const dashboard = await fetch(`${app.url}/api/events`, { method: "HEAD", headers: { Cookie: cookie } });
      expect(dashboard.status).toBe(200);
    }
    expect(openCount(app, apiKey.id)).toBe(0);
    expect(openCount(app, owner.id)).toBe(0);
    // A HEAD's body is dropped unread: a stream opened for it would never end.
    expect(listenerCount(app)).toBe(idle);
  });

  describe("a stream gives its slot back exactly once, whatever ends it", () => {
    interface Opened {
      controller: AbortController;
      response: Response;
    }
    const endings: { by: string; options: Partial<EventStreamOptions>; end: (stream: Opened) => unknown }[] = [
      { by: "the client going away", options: {}, end: ({ controller }) => controller.abort() },
      { by: "the reader cancelling", options: {}, end: ({ response }) => response.body!.cancel() },
      { by: "access no longer allowed", options: { stillAllowed: async () => false, heartbeatMs: 20 }, end: () => {} },
      { by: "a failing access check", options: { stillAllowed: () => Promise.reject(new Error("database gone")), heartbeatMs: 20 }, end: () => {} },
      { by: "an event that ends it", options: { endsAfter: () => true }, end: () => app.keyward.events.publish({ type: "user.changed", userId: owner.id }) },
      { by: "its maximum age", options: { maxAgeMs: 30 }, end: () => {} },
    ];

    for (const { by, options, end } of endings) {
      it(`ended by ${by}`, async () => {
        const controller = new AbortController();
        let released = 0;
        const response = eventStreamResponse({
          feed: app.keyward.live.feed,
          audience: { userId: owner.id, admin: false },
          signal: controller.signal,
          onEnd: () => released++,
          ...options,
        });
        expect(released).toBe(0);
        await end({ controller, response });
        await expect.poll(() => released).toBe(1);
        // Whatever happens after the end releases nothing more.
        controller.abort();
        await response.body!.cancel();
        expect(released).toBe(1);
        await expect.poll(() => listenerCount(app)).toBe(idle);
      });
    }

    it("a stream opened for a client already gone is released at once", () => {
      const controller = new AbortController();
      controller.abort();
      let released = 0;
      eventStreamResponse({ feed: app.keyward.live.feed, audience: { userId: owner.id, admin: false }, signal: controller.signal, onEnd: () => released++ });
      expect(released).toBe(1);
      expect(listenerCount(app)).toBe(idle);
    });

    it("a stream that fails while opening passes the error on and is released", () => {
      let released = 0;
      const failing = {
        subscribe: () => {
          throw new Error("feed unavailable");
        },
      } as unknown as LiveFeed;
      const open = () => eventStreamResponse({ feed: failing, audience: { userId: owner.id, admin: false }, signal: new AbortController().signal, onEnd: () => released++ });
      expect(open).toThrow("feed unavailable");
      expect(released).toBe(1);
    });

    it("a slot's release frees one slot, however often it is called", () => {
      const slots = new StreamSlots(2);
      const release = slots.take("key_a")!;
      slots.take("key_a");
      expect(slots.take("key_a")).toBeNull();
      release();
      release();
      expect(slots.count("key_a")).toBe(1);
      expect(slots.take("key_a")).not.toBeNull();
      expect(slots.take("key_a")).toBeNull();
    });
  });
});

describe("KEYWARD_EVENT_STREAM_MAX_AGE_SECONDS: the server ends old streams and clients come back", () => {
  let app: RunningApp;
  let closed = false;
  let owner: Awaited<ReturnType<typeof createUser>>;

  beforeAll(async () => {
    // Room for one stream per key: a reconnect is only admitted if the ended stream gave its slot back.
    app = await startApp({ env: { KEYWARD_EVENT_STREAM_MAX_AGE_SECONDS: "1", KEYWARD_MAX_EVENT_STREAMS: "1" } });
    owner = await createUser(app.keyward, "member");
  });
  afterAll(async () => {
    if (!closed) await app?.close();
  });

  it("ends a stream after about its maximum age with a retry hint, and frees its slot", async () => {
    const { key, apiKey } = await app.keyward.keys.create(owner.actor, { name: "old stream", scopes: ["read"] });
    const requested = performance.now();
    const stream = await openStream(`${app.url}/api/v1/events`, { Authorization: `Bearer ${key}` });
    try {
      expect(stream.response.status).toBe(200);
      await stream.reader!.ready();
      expect(openCount(app, apiKey.id)).toBe(1);
      await stream.reader!.until(() => stream.reader!.ended, "the end of the stream", 5000);
      const livedMs = performance.now() - requested;
      // Between 90 % and 100 % of the age, so streams opened together do not all return together.
      expect(livedMs).toBeGreaterThanOrEqual(900);
      expect(livedMs).toBeLessThan(5000);
      expect(stream.reader!.messages.at(-1)).toMatchObject({ retry: 1000, comment: "maximum age reached; reconnect" });
      expect(openCount(app, apiKey.id)).toBe(0);
    } finally {
      stream.close();
    }
  });

  it("the SDK's follower reconnects by itself after each end and keeps receiving events", async () => {
    const watcher = await app.keyward.keys.create(owner.actor, { name: "watcher", scopes: ["read"] });
    const watched = await app.keyward.keys.create(owner.actor, { name: "watched", scopes: ["read"] });
    const events = keywardEvents({ baseUrl: app.url, apiKey: watcher.key });
    const opens: boolean[] = [];
    const errors: string[] = [];
    const received: KeywardEvent[] = [];
    let change: Promise<unknown> | undefined;
    events.subscribe((event) => received.push(event));
    events.onError((error) => errors.push(error.message));
    events.onOpen(({ reconnected }) => {
      opens.push(reconnected);
      // Changed just after the third connection opens: the event must come through a reconnected stream.
      if (opens.length === 3) change = app.keyward.keys.update(owner.actor, watched.apiKey.id, { description: "changed while following" });
    });
    try {
      await expect.poll(() => opens.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
      await change;
      await expect.poll(() => received, { timeout: 5000 }).toContainEqual({ type: "key.changed", keyId: watched.apiKey.id });
      expect(opens.slice(0, 3)).toEqual([false, true, true]);
      // Every reconnect was admitted: the only errors are the planned ends, never a 429.
      expect(new Set(errors)).toEqual(new Set(["event stream ended; reconnecting"]));
    } finally {
      events.close();
    }
    await expect.poll(() => openCount(app, watcher.apiKey.id)).toBe(0);
  });

  it("shutting the server down frees every slot", async () => {
    const { key, apiKey } = await app.keyward.keys.create(owner.actor, { name: "at shutdown", scopes: ["read"] });
    const cookie = await login(app, owner.email, TEST_PASSWORD);
    const streams = [await openStream(`${app.url}/api/v1/events`, { Authorization: `Bearer ${key}` }), await openStream(`${app.url}/api/events`, { Cookie: cookie })];
    for (const stream of streams) await stream.reader!.ready();
    expect(openCount(app, apiKey.id) + openCount(app, owner.id)).toBe(2);
    closed = true;
    await app.close();
    expect(openCount(app, apiKey.id)).toBe(0);
    expect(openCount(app, owner.id)).toBe(0);
    for (const stream of streams) stream.close();
  });
});
