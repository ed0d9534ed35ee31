import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { alertDeliveries, alerts } from "../../db/schema";
import { ConfigError, loadConfig } from "../../app/config.server";
import { ManualClock } from "../../app/services/clock.server";
import { newId } from "../../app/lib/ids";
import { signWebhook, verifyWebhookSignature, WebhookDispatcher, type WebhookDispatcherOptions } from "../../app/services/webhooks.server";
import { createUser, testKeyward, type TestKeyward } from "../support/keyward";
import { expectEvery } from "../support/expect";
import { registerSecrets, serverSecrets } from "../support/secrets";

const RECEIVER = "https://hooks.example.test/keyward";
const SECRET = "test-webhook-secret-0123456789";
// Handed to the dispatcher directly, not through testConfig: the log scan must learn it here.
registerSecrets(SECRET);

interface Arrival {
  at: number;
  body: string;
  signature: string | null;
  delivery: string | null;
}

const arrivals: Arrival[] = [];
/** What the receiver answers, in order; the last one repeats. `error` = the connection fails. */
let answers: (number | "error")[] = [200];

const server = setupServer(
  http.post(RECEIVER, async ({ request }) => {
    arrivals.push({ at: performance.now(), body: await request.text(), signature: request.headers.get("keyward-signature"), delivery: request.headers.get("keyward-delivery") });
    const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
    return answer === "error" ? HttpResponse.error() : new HttpResponse(null, { status: answer });
  }),
);

let kw: TestKeyward;
const dispatchers: WebhookDispatcher[] = [];

beforeAll(async () => {
  server.listen({ onUnhandledRequest: "bypass" });
  kw = await testKeyward();
});

afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((dispatcher) => dispatcher.close(1000)));
  arrivals.length = 0;
  answers = [200];
});

afterAll(async () => {
  server.close();
  await kw?.dispose();
});

function dispatcher(options: Partial<WebhookDispatcherOptions> = {}): WebhookDispatcher {
  const created = new WebhookDispatcher({ url: RECEIVER, secret: SECRET, db: kw.database.db, backoffMs: 20, minTimeMs: 0, ...options });
  dispatchers.push(created);
  return created;
}

/** An alert row for deliveries to refer to. */
async function alertRow(): Promise<string> {
  const id = newId("alr");
  const now = new Date();
  await kw.database.db.insert(alerts).values({ id, ruleId: "revoked_key_used", subject: `key_${crypto.randomBytes(10).toString("hex")}`, subjectType: "key", severity: "critical", firstFiredAt: now, lastFiredAt: now });
  return id;
}

const attemptsOf = (alertId: string) =>
  kw.database.db.select().from(alertDeliveries).where(eq(alertDeliveries.alertId, alertId)).orderBy(alertDeliveries.attempt);

describe("webhook signatures", () => {
  const body = JSON.stringify({ type: "alert.opened", alert: { id: "alr_x" } });
  const now = 1_800_000_000;

  it("verifies a signature made with the secret, within the tolerance", () => {
    const header = signWebhook(SECRET, body, now);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    const expected = crypto.createHmac("sha256", SECRET).update(`${now}.${body}`).digest("hex");
    expect(header).toBe(`t=${now},v1=${expected}`);
    expect(verifyWebhookSignature(SECRET, header, body, 300, now + 299)).toBe(true);
  });

  it("refuses a tampered body, another secret, an old or future timestamp, and malformed headers", () => {
    const header = signWebhook(SECRET, body, now);
    expect(verifyWebhookSignature(SECRET, header, body.replace("alr_x", "alr_y"), 300, now)).toBe(false);
    expect(verifyWebhookSignature("another-secret-entirely", header, body, 300, now)).toBe(false);
    expect(verifyWebhookSignature(SECRET, header, body, 300, now + 301)).toBe(false);
    expect(verifyWebhookSignature(SECRET, header, body, 300, now - 301)).toBe(false);
    // A replayed signature with a fresh timestamp swapped in no longer matches.
    expect(verifyWebhookSignature(SECRET, header.replace(`t=${now}`, `t=${now + 1000}`), body, 300, now + 1000)).toBe(false);
    for (const bad of [null, "", "v1=abc", `t=${now}`, `t=abc,v1=${"0".repeat(64)}`, `t=${now},v1=${"z".repeat(64)}`]) {
      expect(verifyWebhookSignature(SECRET, bad, body, 300, now)).toBe(false);
    }
  });
});

describe("WebhookDispatcher", () => {
  it("POSTs the JSON body signed with a current timestamp, and records the attempt", async () => {
    const alertId = await alertRow();
    const sender = dispatcher();
    sender.deliver(alertId, { type: "alert.opened", alert: { id: alertId } });
    await sender.drain();
    expect(arrivals).toHaveLength(1);
    const [arrival] = arrivals;
    expect(JSON.parse(arrival!.body)).toEqual({ type: "alert.opened", alert: { id: alertId } });
    expect(verifyWebhookSignature(SECRET, arrival!.signature, arrival!.body, 60)).toBe(true);
    expect(arrival!.delivery).toBe(`${alertId}/1`);
    expect(await attemptsOf(alertId)).toMatchObject([{ attempt: 1, statusCode: 200, error: null }]);
  });

  it("retries a 500 with backoff, then stops at the first success", async () => {
    answers = [500, 503, 200];
    const alertId = await alertRow();
    const sender = dispatcher({ backoffMs: 40 });
    sender.deliver(alertId, { n: 1 });
    await sender.drain();
    expect(arrivals).toHaveLength(3);
    // Every attempt carries the same body, signed again.
    expect(new Set(arrivals.map((arrival) => arrival.body)).size).toBe(1);
    expectEvery(arrivals, (arrival) => verifyWebhookSignature(SECRET, arrival.signature, arrival.body, 60));
    // Backoff: at least half the base before the 2nd attempt, half of twice it before the 3rd (jitter is 50–100 %).
    expect(arrivals[1]!.at - arrivals[0]!.at).toBeGreaterThanOrEqual(19);
    expect(arrivals[2]!.at - arrivals[1]!.at).toBeGreaterThanOrEqual(39);
    expect((await attemptsOf(alertId)).map((row) => [row.attempt, row.statusCode])).toEqual([
      [1, 500],
      [2, 503],
      [3, 200],
    ]);
  });

  it("does not retry a 4xx: the receiver refused it", async () => {
    answers = [400];
    const alertId = await alertRow();
    const sender = dispatcher();
    sender.deliver(alertId, { n: 1 });
    await sender.drain();
    expect(arrivals).toHaveLength(1);
    expect(await attemptsOf(alertId)).toMatchObject([{ attempt: 1, statusCode: 400 }]);
  });

  it("retries network errors, and gives up after maxAttempts, each attempt recorded with its error", async () => {
    answers = ["error"];
    const alertId = await alertRow();
    const sender = dispatcher({ maxAttempts: 3 });
    sender.deliver(alertId, { n: 1 });
    await sender.drain();
    const rows = await attemptsOf(alertId);
    expect(rows.map((row) => row.attempt)).toEqual([1, 2, 3]);
    expectEvery(rows, (row) => row.statusCode === null && typeof row.error === "string" && row.error.length > 0);
    expectEvery(rows, (row) => !row.error!.includes("hooks.example.test"));
  });

  it("paces a storm: N alerts at once arrive no faster than minTime apart, one at a time", async () => {
    const minTimeMs = 100;
    const count = 6;
    const ids = await Promise.all(Array.from({ length: count }, () => alertRow()));
    const sender = dispatcher({ maxConcurrent: 1, minTimeMs });
    const started = performance.now();
    for (const id of ids) sender.deliver(id, { id });
    await sender.drain();
    expect(arrivals).toHaveLength(count);
    // Bottleneck starts request i no sooner than i × minTime after the first; it cannot arrive before it starts.
    // (A late first arrival cannot hide a burst: each arrival is measured from when the storm was queued.)
    const sinceQueued = arrivals.map((arrival) => arrival.at - started).sort((x, y) => x - y);
    sinceQueued.forEach((elapsed, i) => expect(elapsed).toBeGreaterThanOrEqual(i * minTimeMs - 5));
    for (const id of ids) expect(await attemptsOf(id)).toHaveLength(1);
  });

  it("close() waits for queued deliveries, within its bound, and cuts retries short", async () => {
    const alertId = await alertRow();
    const sender = dispatcher({ minTimeMs: 50 });
    const ids = [alertId, await alertRow(), await alertRow()];
    for (const id of ids) sender.deliver(id, { id });
    await sender.close(5000);
    expect(arrivals).toHaveLength(3);

    answers = [500];
    arrivals.length = 0;
    const failing = await alertRow();
    const slow = dispatcher({ backoffMs: 60_000 });
    slow.deliver(failing, { id: failing });
    await expect.poll(() => arrivals.length).toBe(1);
    const closing = performance.now();
    await slow.close(5000);
    expect(performance.now() - closing).toBeLessThan(4000);
    expect(await attemptsOf(failing)).toHaveLength(1);
  });
});

describe("alerts reach the webhook through the container", () => {
  it("a newly opened alert is delivered once, signed; bumps are not delivered again", async () => {
    const clock = new ManualClock(new Date());
    const local = await testKeyward({ clock, env: { KEYWARD_ALERT_WEBHOOK_URL: RECEIVER, KEYWARD_ALERT_WEBHOOK_SECRET: SECRET } });
    try {
      const admin = await createUser(local, "admin");
      const { apiKey } = await local.keys.create(admin.actor, { name: "watched", scopes: ["read"] });
      local.securityEvents.record({ kind: "key_revoked", severity: "warning", keyId: apiKey.id, clientIp: "192.0.2.1" });
      await local.securityEvents.flush();
      await local.webhooks!.drain();
      expect(arrivals).toHaveLength(1);
      const payload = JSON.parse(arrivals[0]!.body) as { type: string; alert: { id: string; ruleId: string; subject: string; status: string } };
      expect(payload).toMatchObject({ type: "alert.opened", alert: { ruleId: "revoked_key_used", subject: apiKey.id, status: "open" } });
      expect(verifyWebhookSignature(SECRET, arrivals[0]!.signature, arrivals[0]!.body, 60, Math.floor(clock.now().getTime() / 1000))).toBe(true);

      local.securityEvents.record({ kind: "key_revoked", severity: "warning", keyId: apiKey.id, clientIp: "192.0.2.1" });
      await local.securityEvents.flush();
      await local.webhooks!.drain();
      expect(arrivals).toHaveLength(1);
      expect(await local.security.deliveries(admin.actor, payload.alert.id)).toMatchObject([{ attempt: 1, statusCode: 200, error: null }]);
    } finally {
      await local.dispose();
    }
  });
});

describe("webhook configuration", () => {
  const secrets = serverSecrets();

  it("in production, a webhook URL without its secret refuses to start; with it, both are used", () => {
    expect(() => loadConfig({ NODE_ENV: "production", ...secrets, KEYWARD_ALERT_WEBHOOK_URL: RECEIVER })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: "production", ...secrets, KEYWARD_ALERT_WEBHOOK_URL: RECEIVER })).toThrow(/KEYWARD_ALERT_WEBHOOK_SECRET is required/);
    expect(loadConfig({ NODE_ENV: "production", ...secrets, KEYWARD_ALERT_WEBHOOK_URL: RECEIVER, KEYWARD_ALERT_WEBHOOK_SECRET: SECRET }).alertWebhook).toEqual({ url: RECEIVER, secret: SECRET });
    expect(loadConfig({ NODE_ENV: "production", ...secrets }).alertWebhook).toBeUndefined();
    expect(() => loadConfig({ NODE_ENV: "development", ...secrets, KEYWARD_ALERT_WEBHOOK_URL: "ftp://example.test/x", KEYWARD_ALERT_WEBHOOK_SECRET: SECRET })).toThrow(/KEYWARD_ALERT_WEBHOOK_URL/);
    expect(() => loadConfig({ NODE_ENV: "development", ...secrets, KEYWARD_ALERT_WEBHOOK_URL: RECEIVER, KEYWARD_ALERT_WEBHOOK_SECRET: "short" })).toThrow(/at least 16/);
  });

  it("on the embedded default, a missing webhook secret is generated into the existing secrets file and reused", () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-webhook-config-"));
    try {
      const before = loadConfig({ NODE_ENV: "development", KEYWARD_DATA_DIR: dataDir });
      expect(before.alertWebhook).toBeUndefined();
      const first = loadConfig({ NODE_ENV: "development", KEYWARD_DATA_DIR: dataDir, KEYWARD_ALERT_WEBHOOK_URL: RECEIVER });
      const second = loadConfig({ NODE_ENV: "development", KEYWARD_DATA_DIR: dataDir, KEYWARD_ALERT_WEBHOOK_URL: RECEIVER });
      expect(first.alertWebhook!.secret.length).toBeGreaterThanOrEqual(32);
      expect(second.alertWebhook!.secret).toBe(first.alertWebhook!.secret);
      // The secrets generated earlier are kept.
      expect(second.digestSecrets.current.secret.equals(before.digestSecrets.current.secret)).toBe(true);
      expect((fs.statSync(path.join(dataDir, "secrets.json")).mode & 0o777).toString(8)).toBe("600");
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
