import type { AddressInfo } from "node:net";
import express from "express";
import Fastify from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createKeyward, expressGuard, fastifyGuard, keywardEvents, keywardGuard, type KeywardClient, type KeywardGuard, type Principal } from "../../sdk/src/index";
import { createUser } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

// What an app using the adapters declares once, so its handlers see the principal typed.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      keyward?: Principal;
    }
  }
}
declare module "fastify" {
  interface FastifyRequest {
    keyward?: Principal;
  }
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** What a protected route answers: the principal the adapter handed to the handler. */
function shown(principal: Principal | undefined) {
  return { keyId: principal?.keyId ?? null, customer: principal?.identity?.externalId ?? null, permissions: principal?.permissions ?? null };
}

/**
 * A real Express 4 app on an ephemeral port, every /api route behind the adapter, and one route
 * guarded on its own. It trusts the loopback proxy, so `req.ip` comes from X-Forwarded-For.
 */
async function expressApp(guard: KeywardGuard): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.set("trust proxy", "loopback");
  app.use("/api", expressGuard(guard));
  app.get("/api/orders", (req, res) => {
    res.json(shown(req.keyward));
  });
  app.get("/route/orders", expressGuard(guard), (req, res) => {
    res.json(shown(req.keyward));
  });
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A real Fastify 5 app on an ephemeral port, /api behind the adapter as a scoped preHandler hook,
 * and one route guarded by its own `preHandler` option. It trusts the loopback proxy, so
 * `request.ip` comes from X-Forwarded-For.
 */
async function fastifyApp(guard: KeywardGuard): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ trustProxy: "127.0.0.1" });
  app.decorateRequest("keyward", undefined);
  await app.register(async (api) => {
    api.addHook("preHandler", fastifyGuard(guard));
    api.get("/api/orders", async (request) => shown(request.keyward));
  });
  app.get("/route/orders", { preHandler: fastifyGuard(guard) }, async (request) => shown(request.keyward));
  await app.listen({ port: 0, host: "127.0.0.1" });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { headers });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

/**
 * The Express and Fastify adapters in real apps, each guard asking the real Keyward (PGlite, or
 * Postgres and Redis with DATABASE_URL / REDIS_URL) about keys issued for its API.
 */
describe("guard adapters against the running app", () => {
  let keywardApp: RunningApp;
  let member: Awaited<ReturnType<typeof createUser>>;
  let rootKey: string;
  let client: KeywardClient;
  let apiId: string;
  let otherApiId: string;
  const servers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    keywardApp = await startApp();
    member = await createUser(keywardApp.keyward, "member");
    rootKey = (await keywardApp.keyward.keys.create(member.actor, { name: "service", scopes: ["read"] })).key;
    client = createKeyward({ baseUrl: keywardApp.url, apiKey: rootKey, retries: 0 });
    apiId = (await keywardApp.keyward.apis.create(member.actor, { name: "Orders", prefix: "orders", permissions: ["orders.read", "orders.write"] })).id;
    otherApiId = (await keywardApp.keyward.apis.create(member.actor, { name: "Billing", prefix: "billing" })).id;
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    await keywardApp?.close();
  });

  const issue = (input: Parameters<RunningApp["keyward"]["keys"]["createIssued"]>[2], api = () => apiId) => keywardApp.keyward.keys.createIssued(member.actor, api(), input);
  const newGuard = () => keywardGuard({ client, apiId, permissions: ["orders.read"] });

  describe.each([
    ["Express", expressApp],
    ["Fastify", fastifyApp],
  ])("%s", (_framework, start) => {
    let url: string;
    /** The same guard answering a Fetch `Request`: what the adapter must answer alike. */
    let fetchGuard: KeywardGuard;

    beforeAll(async () => {
      const server = await start(newGuard());
      servers.push(server);
      url = `${server.url}/api/orders`;
      fetchGuard = newGuard();
    });
    afterAll(() => fetchGuard.close());

    /** The adapter's answer and the Fetch guard's for the same headers (and the address the app sees): same status, body and headers. */
    async function expectAsFetch(headers: Record<string, string>, expected: { status: number; code: string }): Promise<Answer> {
      const answer = await get(url, headers);
      const result = await fetchGuard(new Request("https://service.example.test/api/orders", { headers }), { ip: "127.0.0.1" });
      expect(result.ok).toBe(false);
      if (result.ok) throw new Error("unreachable");
      expect({ status: answer.status, code: answer.body.code }).toEqual(expected);
      expect(answer.status).toBe(result.response.status);
      expect(answer.body).toEqual(await result.response.json());
      for (const [name, value] of result.response.headers) expect([name, answer.headers.get(name)]).toEqual([name, value]);
      expect(answer.headers.get("content-type")).toBe("application/problem+json");
      return answer;
    }

    it("a valid key passes, and the handler sees the principal (Bearer and X-API-Key; app-wide and on one route)", async () => {
      const { key, apiKey } = await issue({ externalId: "customer-1", permissions: ["orders.read"] });
      const expected = { keyId: apiKey.id, customer: "customer-1", permissions: ["orders.read"] };
      expect(await get(url, { Authorization: `Bearer ${key}` })).toMatchObject({ status: 200, body: expected });
      // The second comes from the guard's cache: the adapter hands it on the same way.
      expect(await get(url, { "X-API-Key": key })).toMatchObject({ status: 200, body: expected });
      const route = url.replace("/api/orders", "/route/orders");
      expect(await get(route, { Authorization: `Bearer ${key}` })).toMatchObject({ status: 200, body: expected });
      expect(await get(route)).toMatchObject({ status: 401, body: { code: "missing_credentials" } });
    });

    it("no key → 401 missing_credentials with the Bearer challenge", async () => {
      const answer = await expectAsFetch({}, { status: 401, code: "missing_credentials" });
      expect(answer.headers.get("www-authenticate")).toBe('Bearer realm="api"');
      expect(answer.headers.get("cache-control")).toBe("no-store");
    });

    it("an unknown, malformed or other API's key → 401 invalid_key", async () => {
      const { key: billingKey } = await issue({}, () => otherApiId);
      const answer = await expectAsFetch({ Authorization: `Bearer ${billingKey}` }, { status: 401, code: "invalid_key" });
      expect(answer.headers.get("www-authenticate")).toBe('Bearer realm="api", error="invalid_token"');
      await expectAsFetch({ "X-API-Key": "orders_not-a-key" }, { status: 401, code: "invalid_key" });
      await expectAsFetch({ Authorization: `Bearer ${rootKey}` }, { status: 401, code: "invalid_key" });
    });

    it("a revoked key → 401 key_revoked", async () => {
      const { key, apiKey } = await issue({ permissions: ["orders.read"] });
      await keywardApp.keyward.keys.revoke(member.actor, apiKey.id);
      await expectAsFetch({ Authorization: `Bearer ${key}` }, { status: 401, code: "key_revoked" });
    });

    it("a key without the permission → 403 insufficient_permissions, with what it lacks", async () => {
      const { key } = await issue({ permissions: ["orders.write"] });
      const answer = await expectAsFetch({ Authorization: `Bearer ${key}` }, { status: 403, code: "insufficient_permissions" });
      expect(answer.body.missing).toEqual(["orders.read"]);
      expect(answer.headers.get("www-authenticate")).toBe('Bearer realm="api", error="insufficient_scope", scope="orders.read"');
    });

    it("the caller's address reaches Keyward: a key allowed only elsewhere → 403 ip_not_allowed, one allowed here passes", async () => {
      const { key: elsewhere } = await issue({ permissions: ["orders.read"], allowedIps: ["203.0.113.0/24"] });
      await expectAsFetch({ Authorization: `Bearer ${elsewhere}` }, { status: 403, code: "ip_not_allowed" });
      const { key: here, apiKey } = await issue({ permissions: ["orders.read"], allowedIps: ["127.0.0.1"] });
      expect(await get(url, { Authorization: `Bearer ${here}` })).toMatchObject({ status: 200, body: { keyId: apiKey.id } });
      // Through the trusted proxy, the address is the framework's req.ip / request.ip: the forwarded one.
      const forwarded = { Authorization: `Bearer ${elsewhere}`, "X-Forwarded-For": "203.0.113.7" };
      expect(await get(url, forwarded)).toMatchObject({ status: 200 });
      expect(await get(url, { Authorization: `Bearer ${here}`, "X-Forwarded-For": "203.0.113.7" })).toMatchObject({ status: 403, body: { code: "ip_not_allowed" } });
    });

    it("a 2/min key: two pass, the third is 429 rate_limited with Retry-After and RateLimit-*", async () => {
      const { key } = await issue({ permissions: ["orders.read"], ratelimits: [{ name: "requests", limit: 2, durationSeconds: 60 }] });
      const headers = { Authorization: `Bearer ${key}` };
      expect((await get(url, headers)).status).toBe(200);
      expect((await get(url, headers)).status).toBe(200);
      const limited = await get(url, headers);
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual({ type: "about:blank", title: "Rate limited", status: 429, detail: expect.any(String), code: "rate_limited" });
      expect(limited.headers.get("content-type")).toBe("application/problem+json");
      const retryAfter = Number(limited.headers.get("retry-after"));
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
      expect({ limit: limited.headers.get("ratelimit-limit"), remaining: limited.headers.get("ratelimit-remaining") }).toEqual({ limit: "2", remaining: "0" });
      expect(Math.abs(Number(limited.headers.get("ratelimit-reset")) - retryAfter)).toBeLessThanOrEqual(1);
      // The Fetch guard answers the fourth alike.
      const result = await fetchGuard(new Request("https://service.example.test/", { headers }), { ip: "127.0.0.1" });
      expect(result.ok ? null : [result.response.status, result.response.headers.get("ratelimit-limit"), Number(result.response.headers.get("retry-after")) > 0]).toEqual([429, "2", true]);
    });
  });

  describe("createKeyward reads KEYWARD_URL and KEYWARD_API_KEY", () => {
    const saved = { KEYWARD_URL: process.env.KEYWARD_URL, KEYWARD_API_KEY: process.env.KEYWARD_API_KEY };
    afterEach(() => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    it("with no options, from the environment: a guard on that client protects an Express app", async () => {
      process.env.KEYWARD_URL = keywardApp.url;
      process.env.KEYWARD_API_KEY = rootKey;
      const fromEnv = createKeyward({ retries: 0 });
      expect((await fromEnv.me()).user.id).toBe(member.id);
      expect((await createKeyward().me()).user.id).toBe(member.id);

      const server = await expressApp(keywardGuard({ client: fromEnv, apiId, permissions: ["orders.read"] }));
      servers.push(server);
      const { key, apiKey } = await issue({ externalId: "from-env", permissions: ["orders.read"] });
      expect(await get(`${server.url}/api/orders`, { Authorization: `Bearer ${key}` })).toMatchObject({ status: 200, body: { keyId: apiKey.id, customer: "from-env" } });
    });

    it("keywardEvents() follows the stream of the Keyward and key in the environment", async () => {
      process.env.KEYWARD_URL = keywardApp.url;
      process.env.KEYWARD_API_KEY = rootKey;
      const events = keywardEvents();
      try {
        await expect.poll(() => events.state, { timeout: 10_000, interval: 20 }).toBe("open");
      } finally {
        events.close();
      }
      delete process.env.KEYWARD_URL;
      expect(() => keywardEvents()).toThrow(new TypeError("keywardEvents needs baseUrl: pass it in the options, or set KEYWARD_URL in the environment"));
    });

    it("explicit options win; what they leave out comes from the environment", async () => {
      const other = await createUser(keywardApp.keyward, "member");
      const otherKey = (await keywardApp.keyward.keys.create(other.actor, { name: "other", scopes: ["read"] })).key;
      process.env.KEYWARD_URL = "http://127.0.0.1:9";
      process.env.KEYWARD_API_KEY = otherKey;
      expect((await createKeyward({ baseUrl: keywardApp.url, apiKey: rootKey }).me()).user.id).toBe(member.id);
      expect((await createKeyward({ baseUrl: keywardApp.url }).me()).user.id).toBe(other.id);
      process.env.KEYWARD_URL = keywardApp.url;
      expect((await createKeyward({ apiKey: rootKey }).me()).user.id).toBe(member.id);
      // The environment's key is checked like one given: an issued key is refused at once.
      process.env.KEYWARD_API_KEY = (await issue({})).key;
      expect(() => createKeyward()).toThrow(new TypeError("this is a key issued for one of your APIs; the SDK client needs a root key (kw_…)"));
    });

    it("neither given nor set (empty counts as unset): a TypeError naming the variables", () => {
      delete process.env.KEYWARD_URL;
      process.env.KEYWARD_API_KEY = "";
      expect(() => createKeyward()).toThrow(new TypeError("createKeyward needs baseUrl and apiKey: pass them in the options, or set KEYWARD_URL and KEYWARD_API_KEY in the environment"));
      expect(() => createKeyward({ baseUrl: keywardApp.url })).toThrow(new TypeError("createKeyward needs apiKey: pass it in the options, or set KEYWARD_API_KEY in the environment"));
      process.env.KEYWARD_API_KEY = rootKey;
      expect(() => createKeyward()).toThrow(new TypeError("createKeyward needs baseUrl: pass it in the options, or set KEYWARD_URL in the environment"));
    });
  });
});
