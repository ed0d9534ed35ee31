import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../db/client.server";
import { createKeyward, type Keyward } from "../../app/services/keyward.server";
import { freshPostgresUrl } from "../support/database";
import { system, testConfig, TEST_HASHING } from "../support/keyward";
import { startServerProcess, type ServerProcess } from "../../scripts/lib/server-process";
import { serverSecrets } from "../support/secrets";

/**
 * Two real app processes on one Postgres: a change made through one is seen by the other within
 * a second, through LISTEN/NOTIFY, even though each holds the key in its verification cache.
 * PGlite refuses a second process by design, so this runs against Postgres only.
 */
describe.skipIf(!process.env.DATABASE_URL)("three app instances sharing one Postgres (and Redis when REDIS_URL is set)", () => {
  const env = serverSecrets();
  let database: { url: string; drop(): Promise<void> };
  let keyward: Keyward;
  let closeDatabase: () => Promise<void>;
  const instances: ServerProcess[] = [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-multi-"));

  beforeAll(async () => {
    database = (await freshPostgresUrl())!;
    const handle = await openDatabase({ kind: "postgres", url: database.url, max: 2 });
    closeDatabase = () => handle.close();
    keyward = await createKeyward({ config: testConfig({ ...env, DATABASE_URL: database.url }), database: handle, hashing: TEST_HASHING });
    // A generous Redis timeout: on a busy 2-core machine a limiter call can take longer than the default
    // 250 ms, and such a call is decided by the instance alone (by design), which would blur what the
    // shared-limit test checks.
    const shared = { ...env, DATABASE_URL: database.url, KEYWARD_DATA_DIR: dataDir, KEYWARD_USAGE_FLUSH_MS: "200", KEYWARD_REDIS_TIMEOUT_MS: "3000", ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}) };
    instances.push(...(await Promise.all([0, 1, 2].map(() => startServerProcess({ ...shared, NODE_ENV: "production", KEYWARD_LOG_LEVEL: "warn" })))));
  }, 180_000);

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await keyward?.close();
    await closeDatabase?.();
    await database?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const me = (instance: { url: string }, key: string) =>
    fetch(`${instance.url}/api/v1/me`, { headers: { Authorization: `Bearer ${key}` } }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

  /** Polls until `check` holds; returns how long that took. */
  async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
    const started = performance.now();
    while (performance.now() - started < ms) {
      if (await check()) return performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`not within ${ms} ms`);
  }

  it("a key revoked through one instance is refused by the other within 1 s", async () => {
    const admin = await keyward.users.create(system, { email: "admin@example.test", password: "correct horse battery staple", role: "admin" });
    const { key: adminKey } = await keyward.keys.create(system, { name: "admin", scopes: ["admin"], ownerId: admin.id });
    const { key, apiKey } = await keyward.keys.create(system, { name: "shared", scopes: ["read"], ownerId: admin.id });
    const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];
    // Both instances now hold the key in their verification caches.
    expect((await me(a, key)).status).toBe(200);
    expect((await me(b, key)).status).toBe(200);

    const revoked = await fetch(`${a.url}/api/v1/keys/${apiKey.id}`, { method: "DELETE", headers: { Authorization: `Bearer ${adminKey}` } });
    expect(revoked.status).toBe(200);
    // The instance that made the change refuses it at once…
    expect((await me(a, key)).body.code).toBe("key_revoked");
    // …and the other one within a second.
    const took = await within(1000, async () => (await me(b, key)).body.code === "key_revoked");
    expect(took).toBeLessThan(1000);
  });

  it("an owner demoted elsewhere loses admin on both instances within 1 s", async () => {
    const owner = await keyward.users.create(system, { email: "owner@example.test", password: "correct horse battery staple", role: "admin" });
    await keyward.users.create(system, { email: "keeper@example.test", password: "correct horse battery staple", role: "admin" });
    const { key } = await keyward.keys.create(system, { name: "owner admin", scopes: ["admin"], ownerId: owner.id });
    for (const instance of instances) expect((await me(instance, key)).body.scopes).toEqual(["read", "write", "admin"]);

    // The change comes from a third process (this test's own services), as from the CLI.
    await keyward.users.setRole(system, owner.id, "member");
    for (const instance of instances) {
      await within(1000, async () => JSON.stringify((await me(instance, key)).body.scopes) === JSON.stringify(["read", "write"]));
    }
  });

  it.skipIf(!process.env.REDIS_URL)("a key's rate limit is shared: N in total across the instances, not N each", async () => {
    const owner = await keyward.users.create(system, { email: "limited@example.test", password: "correct horse battery staple" });
    const { key } = await keyward.keys.create(system, { name: "limited", scopes: ["read"], ownerId: owner.id, rateLimit: { requests: 30, windowSeconds: 60 } });
    const statuses = await Promise.all(Array.from({ length: 60 }, (_, i) => me(instances[i % 3]!, key).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(30);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);
  });

  it("usage recorded by every instance adds up exactly", async () => {
    const owner = await keyward.users.create(system, { email: "counted@example.test", password: "correct horse battery staple" });
    const { key, apiKey } = await keyward.keys.create(system, { name: "counted", scopes: ["read"], ownerId: owner.id });
    for (const [index, instance] of instances.entries()) {
      for (let i = 0; i < 10 + index * 5; i++) expect((await me(instance, key)).status).toBe(200);
    }
    // Each instance flushes on its own timer (200 ms here); the sums meet in Postgres.
    await within(10_000, async () => (await keyward.usageReports.series(system, apiKey.id, { granularity: "day" })).totals.requests === 10 + 15 + 20);
    const { totals } = await keyward.usageReports.series(system, apiKey.id, { granularity: "day" });
    expect(totals).toMatchObject({ requests: 45, success: 45 });
  });

  it("an alert raised on one instance reaches a live stream connected to another within seconds", async () => {
    const admin = await keyward.users.create(system, { email: "watcher@example.test", password: "correct horse battery staple", role: "admin" });
    const { key: adminKey } = await keyward.keys.create(system, { name: "watcher", scopes: ["admin"], ownerId: admin.id });
    const { key: leaked, apiKey } = await keyward.keys.create(system, { name: "leaked", scopes: ["read"], ownerId: admin.id });
    await keyward.keys.revoke(system, apiKey.id);

    const [a, , c] = instances as [(typeof instances)[0], (typeof instances)[0], (typeof instances)[0]];
    const controller = new AbortController();
    const stream = await fetch(`${c.url}/api/v1/events`, { headers: { Authorization: `Bearer ${adminKey}` }, signal: controller.signal });
    expect(stream.status).toBe(200);
    const reader = stream.body!.pipeThrough(new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>).getReader();
    try {
      const started = performance.now();
      expect((await me(a, leaked)).body.code).toBe("key_revoked");
      let received = "";
      while (!received.includes('"alert.changed"')) {
        if (performance.now() - started > 10_000) throw new Error(`no alert.changed on the other instance within 10 s; got: ${received}`);
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        received += value;
      }
      const took = performance.now() - started;
      console.info(`[multi-instance] alert raised on A reached B's stream in ${Math.round(took)} ms`);
      const alerts = await keyward.security.listAlerts(system, { status: "open" });
      expect(alerts.data.some((alert) => alert.ruleId === "revoked_key_used" && alert.subject === apiKey.id)).toBe(true);
    } finally {
      controller.abort();
      await reader.cancel().catch(() => undefined);
    }
  });
});
