import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageRecorder } from "../../app/services/usage.server";
import { createKeyward, keywardGuard } from "../../sdk/src/index";
import { createUser, system } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

const WORKER = path.resolve("tests/sdk/fixtures/guard-worker.ts");
const TSX = path.resolve("node_modules/.bin/tsx");

/**
 * ADR 21: whatever the guard caches, a key's rate limits hold exactly as if Keyward verified every
 * request, and every request the guard answers shows in Keyward's usage. Two guards in two
 * processes (tests/sdk/fixtures/guard-worker.ts) against one running Keyward.
 */
describe("the SDK guard keeps Keyward's invariants", () => {
  let app: RunningApp;
  let rootKey: string;
  let apiId: string;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    app = await startApp();
    const member = await createUser(app.keyward, "member");
    rootKey = (await app.keyward.keys.create(member.actor, { name: "service", scopes: ["read"] })).key;
    apiId = (await app.keyward.apis.create(member.actor, { name: "Guarded", prefix: "guarded" })).id;
  });
  afterAll(async () => {
    for (const worker of workers) if (worker.exitCode === null) worker.kill();
    await app?.close();
  });

  /** A guard in a process of its own, ready to send `requests` requests with `key` once told to. */
  async function startWorker(key: string, requests: number): Promise<{ go(): void; answers: Promise<Record<string, number>> }> {
    const child = spawn(TSX, [WORKER], {
      env: { ...process.env, KEYWARD_URL: app.url, ROOT_KEY: rootKey, API_ID: apiId, KEY: key, REQUESTS: String(requests) },
      stdio: ["pipe", "pipe", "pipe"],
    });
    workers.push(child);
    let errors = "";
    child.stderr!.on("data", (chunk) => (errors += chunk));
    const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const first = await Promise.race([lines.next(), exited.then((code) => ({ value: `exited ${code}: ${errors}` }))]);
    expect(first.value).toBe("ready");
    const answers = (async () => {
      const { value } = await lines.next();
      expect(await exited, errors).toBe(0);
      return JSON.parse(value as string) as Record<string, number>;
    })();
    return { go: () => child.stdin!.write("go\n"), answers };
  }

  /** Runs `perWorker` requests with `key` through each of two guard processes at once; their answers, summed. */
  async function throughTwoGuards(key: string, perWorker: number): Promise<{ answers: Record<string, number>; each: Record<string, number>[] }> {
    const both = await Promise.all([startWorker(key, perWorker), startWorker(key, perWorker)]);
    for (const worker of both) worker.go();
    const each = await Promise.all(both.map((worker) => worker.answers));
    const answers: Record<string, number> = {};
    for (const one of each) for (const [answer, count] of Object.entries(one)) answers[answer] = (answers[answer] ?? 0) + count;
    return { answers, each };
  }

  /** The key's verifications by outcome, once Keyward has written what it recorded. */
  async function verifications(keyId: string) {
    await (app.keyward.usage as UsageRecorder).flush();
    const series = await app.keyward.usageReports.series(system, keyId, { granularity: "day" });
    return series.verifications!.totals;
  }

  it("a 10/min key through two guards in two processes: exactly 10 of 30 admitted, and Keyward's usage shows all 30", async () => {
    const { key, apiKey } = await app.keyward.keys.createIssued(system, apiId, { ratelimits: [{ name: "requests", limit: 10, durationSeconds: 60 }] });
    const { answers } = await throughTwoGuards(key, 15);

    expect(answers).toEqual({ "admitted by Keyward": 10, rate_limited: 20 });
    const totals = await verifications(apiKey.id);
    expect(totals.total).toBe(30);
    expect(totals.outcomes).toMatchObject({ VALID: 10, RATE_LIMITED: 20 });
    expect((await app.keyward.keys.get(system, apiKey.id)).requestCount).toBe(10);
  }, 60_000);

  it("an unlimited key through two guards: one verification per process, the rest from their caches, and Keyward's usage shows every request", async () => {
    const { key, apiKey } = await app.keyward.keys.createIssued(system, apiId, { externalId: "unlimited-customer" });
    const { answers, each } = await throughTwoGuards(key, 20);

    for (const one of each) expect(one).toEqual({ "admitted by Keyward": 1, "admitted from cache": 19 });
    expect(answers).toEqual({ "admitted by Keyward": 2, "admitted from cache": 38 });
    expect(await verifications(apiKey.id)).toMatchObject({ total: 40, outcomes: { VALID: 40 } });
    const identity = await app.keyward.usageReports.identityUsage(system, apiKey.identityId!, { granularity: "day" });
    expect(identity.totals.total).toBe(40);
    expect((await app.keyward.keys.get(system, apiKey.id)).requestCount).toBe(40);
  }, 60_000);

  it("M requests of an unlimited key through one guard: 1 verify call, the rest reported within flushIntervalMs, usage shows M", async () => {
    const { key, apiKey } = await app.keyward.keys.createIssued(system, apiId, {});
    const calls: string[] = [];
    const client = createKeyward({
      baseUrl: app.url,
      apiKey: rootKey,
      fetch: (input, init) => {
        calls.push(new URL(String(input)).pathname);
        return fetch(input, init);
      },
    });
    const guard = keywardGuard({ client, apiId, flushIntervalMs: 100 });
    const M = 25;
    try {
      for (let i = 0; i < M; i++) {
        const result = await guard(new Request("https://service.example.test/", { headers: { "X-API-Key": key } }), { ip: "198.51.100.9" });
        expect(result).toMatchObject({ ok: true, cached: i > 0 });
      }
      expect(calls.filter((call) => call.endsWith("/verify"))).toHaveLength(1);
      // No flush or close: the guard's timer delivers the reports.
      await expect.poll(() => verifications(apiKey.id).then((totals) => totals.total), { timeout: 5_000, interval: 50 }).toBe(M);
      expect(await verifications(apiKey.id)).toMatchObject({ total: M, outcomes: { VALID: M } });
      expect(calls.filter((call) => call.endsWith("/reportVerifications")).length).toBeGreaterThanOrEqual(1);
      expect(await app.keyward.keys.get(system, apiKey.id)).toMatchObject({ requestCount: M, lastUsedIp: "198.51.100.9" });
    } finally {
      await guard.close();
    }
  }, 30_000);
});
