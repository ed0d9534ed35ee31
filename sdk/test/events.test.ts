import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createKeyward, keywardEvents, keywardGuard, type KeywardEvent, type VerifyResult } from "../src/index";
import { BASE_URL, trpcData, TRPC, wellFormedKey } from "./support";

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const EVENTS = `${BASE_URL}/api/v1/events`;
const encoder = new TextEncoder();

/** An SSE response whose chunks the test pushes; `end()` closes it as a server restart would. */
function sseStream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  return {
    response: () => new HttpResponse(body, { headers: { "Content-Type": "text/event-stream" } }),
    push: (text: string) => controller.enqueue(encoder.encode(text)),
    end: () => controller.close(),
  };
}

const until = async (check: () => boolean, ms = 2000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe("keywardEvents", () => {
  it("sends the key in the Authorization header, never the URL, and parses messages split across chunks", async () => {
    const stream = sseStream();
    const seen: { url: string; auth: string | null }[] = [];
    server.use(
      http.get(EVENTS, ({ request }) => {
        seen.push({ url: request.url, auth: request.headers.get("authorization") });
        return stream.response();
      }),
    );
    const key = wellFormedKey();
    const events = keywardEvents({ baseUrl: BASE_URL, apiKey: key });
    const received: KeywardEvent[] = [];
    events.subscribe((event) => received.push(event));
    await until(() => events.state === "open");
    stream.push(': heartbeat\n\ndata: {"type":"key.changed",');
    stream.push('"keyId":"key_1"}\n\n');
    stream.push('data: {"type":"usage.flushed","keyIds":["key_1","key_2"]}\r\n\r\ndata: not json\n\ndata: {"type":"alert.changed","alertId":"alr_1"}\n\n');
    await until(() => received.length === 3);
    expect(received).toEqual([
      { type: "key.changed", keyId: "key_1" },
      { type: "usage.flushed", keyIds: ["key_1", "key_2"] },
      { type: "alert.changed", alertId: "alr_1" },
    ]);
    expect(seen[0]).toEqual({ url: EVENTS, auth: `Bearer ${key}` });
    events.close();
    expect(events.state).toBe("closed");
  });

  it("reconnects with backoff after the stream ends or fails, and says it reconnected", async () => {
    let attempt = 0;
    const streams = [sseStream(), sseStream()];
    server.use(
      http.get(EVENTS, () => {
        attempt++;
        if (attempt === 2) return new HttpResponse(null, { status: 502 });
        return streams[attempt === 1 ? 0 : 1]!.response();
      }),
    );
    const events = keywardEvents({ baseUrl: BASE_URL, apiKey: wellFormedKey(), initialReconnectMs: 10, maxReconnectMs: 20 });
    const opens: boolean[] = [];
    const errors: string[] = [];
    events.onOpen(({ reconnected }) => opens.push(reconnected));
    events.onError((error) => errors.push(error.message));
    await until(() => opens.length === 1);
    streams[0]!.end();
    await until(() => opens.length === 2);
    expect(opens).toEqual([false, true]);
    expect(attempt).toBe(3);
    expect(errors).toEqual(["event stream ended; reconnecting", "event stream answered 502"]);
    events.close();
  });

  it("stops for good when Keyward refuses the key", async () => {
    let attempts = 0;
    server.use(
      http.get(EVENTS, () => {
        attempts++;
        return HttpResponse.json({ code: "key_revoked" }, { status: 401 });
      }),
    );
    const events = keywardEvents({ baseUrl: BASE_URL, apiKey: wellFormedKey(), initialReconnectMs: 1 });
    const errors: string[] = [];
    events.onError((error) => errors.push(error.message));
    await until(() => events.state === "closed");
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(attempts).toBe(1);
    expect(errors[0]).toMatch(/refused the event stream's key \(401\)/);
  });

  it("refuses a malformed key before any request", () => {
    expect(() => keywardEvents({ baseUrl: BASE_URL, apiKey: "kw_nope" })).toThrow(TypeError);
  });

  it("refuses a key issued for an API before any request: the stream needs a root key", () => {
    expect(() => keywardEvents({ baseUrl: BASE_URL, apiKey: wellFormedKey("acme_live") })).toThrow(
      new TypeError("this is a key issued for one of your APIs; the SDK client needs a root key (kw_…)"),
    );
  });
});

describe("the guard following the event stream", () => {
  const KEY_ID = "key_0123456789abcdefABCD";
  const API_ID = "api_0123456789abcdefABCD";
  const IDENTITY_ID = "idt_0123456789abcdefABCD";
  const valid: VerifyResult = {
    valid: true,
    code: "VALID",
    keyId: KEY_ID,
    apiId: API_ID,
    name: "partner",
    identity: { id: IDENTITY_ID, externalId: "customer-42", meta: {} },
    credits: null,
    ratelimits: [],
    permissions: ["orders.read"],
    expiresAt: null,
    meta: {},
  };

  it("drops a cached verification the moment its key, API or identity changes, a user changes, or the stream reconnects", async () => {
    let verifies = 0;
    const streams = [sseStream(), sseStream()];
    let connection = 0;
    server.use(
      http.post(`${TRPC}/verify`, () => {
        verifies++;
        return trpcData(valid);
      }),
      http.get(EVENTS, () => streams[connection++]!.response()),
    );
    const client = createKeyward({ baseUrl: BASE_URL, apiKey: wellFormedKey(), retries: 0 });
    const events = keywardEvents({ baseUrl: BASE_URL, apiKey: wellFormedKey(), initialReconnectMs: 5, maxReconnectMs: 5 });
    const guard = keywardGuard({ client, events, cacheTtlMs: 60_000 });
    const caller = wellFormedKey("acme_live");
    const request = () => guard(new Request("https://app.example.test/", { headers: { Authorization: `Bearer ${caller}` } }));
    await until(() => events.state === "open");

    expect(await request()).toMatchObject({ ok: true, cached: false });
    expect(await request()).toMatchObject({ ok: true, cached: true });
    streams[0]!.push(`data: {"type":"key.changed","keyId":"key_someoneElse00000000"}\n\n`);
    streams[0]!.push(`data: {"type":"key.changed","keyId":"${KEY_ID}"}\n\n`);
    await until(() => guard.size === 0);
    expect(await request()).toMatchObject({ ok: true, cached: false });

    streams[0]!.push(`data: {"type":"api.changed","apiId":"api_someOtherApi00000000"}\n\n`);
    streams[0]!.push(`data: {"type":"api.changed","apiId":"${API_ID}"}\n\n`);
    await until(() => guard.size === 0);
    expect(await request()).toMatchObject({ ok: true, cached: false });

    streams[0]!.push(`data: {"type":"identity.changed","identityId":"${IDENTITY_ID}"}\n\n`);
    await until(() => guard.size === 0);
    expect(await request()).toMatchObject({ ok: true, cached: false });

    // A verdict does not name the key's owner: any user change clears the cache.
    streams[0]!.push(`data: {"type":"user.changed","userId":"usr_0123456789abcdefABCD"}\n\n`);
    await until(() => guard.size === 0);
    expect(await request()).toMatchObject({ cached: false });

    streams[0]!.end();
    await until(() => connection === 2 && events.state === "open");
    expect(guard.size).toBe(0);
    expect(verifies).toBe(5);
    events.close();
  });
});
