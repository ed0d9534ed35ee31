import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyward, keywardEvents, keywardGuard, type KeywardEvent } from "../../sdk/src/index";
import { createUser } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

/** The SDK's event stream against the real app: a revocation in Keyward empties the guard's cache for that key at once. */
describe("SDK event stream against the running app", () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(() => app?.close());

  it("a revoked key is dropped from the guard's cache as soon as Keyward announces it, long before the cache TTL", async () => {
    const owner = await createUser(app.keyward, "member");
    const { key: integration } = await app.keyward.keys.create(owner.actor, { name: "integration", scopes: ["read"] });
    const api = await app.keyward.apis.create(owner.actor, { name: "Shop", prefix: "shop" });
    const { key: customer, apiKey } = await app.keyward.keys.createIssued(owner.actor, api.id, { externalId: "customer-7", permissions: ["read"] });
    const client = createKeyward({ baseUrl: app.url, apiKey: integration, retries: 0 });
    const events = keywardEvents({ baseUrl: app.url, apiKey: integration });
    const seen: KeywardEvent[] = [];
    events.subscribe((event) => seen.push(event));
    const guard = keywardGuard({ client, events, apiId: api.id, permissions: ["read"], cacheTtlMs: 600_000 });
    const request = () => guard(new Request("https://app.example.test/orders", { headers: { Authorization: `Bearer ${customer}` } }));
    try {
      const opened = performance.now();
      while (events.state !== "open") {
        if (performance.now() - opened > 10_000) throw new Error("event stream did not open");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await request()).toMatchObject({ ok: true, cached: false });
      expect(await request()).toMatchObject({ ok: true, cached: true });

      const revoked = performance.now();
      await app.keyward.keys.revoke(owner.actor, apiKey.id);
      while (guard.size > 0) {
        if (performance.now() - revoked > 5_000) throw new Error(`the guard still caches the revoked key; events seen: ${JSON.stringify(seen)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      console.info(`[sdk events] cache entry dropped ${Math.round(performance.now() - revoked)} ms after the revocation`);
      expect(seen).toContainEqual({ type: "key.changed", keyId: apiKey.id });
      expect(await request()).toMatchObject({ ok: false, code: "key_revoked" });
    } finally {
      events.close();
    }
  });
});
