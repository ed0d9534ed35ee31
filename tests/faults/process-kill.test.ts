import fs from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../app/config.server";
import { createKeyward } from "../../app/services/keyward.server";
import { openDatabase } from "../../db/client.server";
import { apiKeys, requestLog, usageMinutes, type RateLimit } from "../../db/schema";
import { startServerProcess, type ServerProcess } from "../../scripts/lib/server-process";
import { cliEnvironment, type CliEnvironment } from "../cli/run-cli";
import { freshDatabase } from "../support/database";
import { createUser, TEST_HASHING } from "../support/keyward";

/**
 * `kill -9` of the server while requests are flowing, then a restart on the same data: the embedded
 * database (PGlite) in the embedded pass, a Postgres database of the test's own in the Postgres pass.
 * Nothing is corrupt, and the usage lost is at most what was buffered since the last flush.
 */
const FLUSH_MS = 1000;
const LOOPS = 12;
/** Beyond one interval: the flush that was running at the kill (its batch is lost too) and timers late on a busy machine. */
const SLACK_MS = 750;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface LoadKey {
  id: string;
  secret: string;
}

/** The api_keys columns a key is made of (usage columns move with every flush). */
const identity = sql`id, owner_id, name, start, last4, digest, digest_version, scopes::text, rate_limit::text, created_at::text, revoked_at::text`;

/** A migrated embedded database in `dataDir`, copied from the tests' snapshot: initdb of a new directory alone takes 5–20 s on a busy machine. */
async function seedEmbedded(dataDir: string): Promise<void> {
  const source = await freshDatabase();
  const dump = await (source.db as unknown as { $client: PGlite }).$client.dumpDataDir("none");
  await source.close();
  const seeded = await PGlite.create(dataDir, { loadDataDir: dump });
  await seeded.close();
}

function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

describe("SIGKILL under load", { timeout: 90_000 }, () => {
  let environment: CliEnvironment;
  let env: Record<string, string>;
  let load: LoadKey[];
  let writer: LoadKey;
  let keysBefore: unknown[];
  const servers: ServerProcess[] = [];

  const start = async () => {
    const server = await startServerProcess(env);
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    environment = await cliEnvironment();
    env = { ...environment.env, KEYWARD_USAGE_FLUSH_MS: String(FLUSH_MS), KEYWARD_LOG_LEVEL: "warn" };
    const config = loadConfig(env as NodeJS.ProcessEnv);
    if (config.database.kind === "pglite") await seedEmbedded(config.database.dataDir);
    // The keys are made before the server starts: the embedded database allows one process at a time.
    const keyward = await createKeyward({ config, hashing: TEST_HASHING });
    try {
      const owner = await createUser(keyward, "member");
      const make = async (name: string, scopes: ("read" | "write")[], rateLimit: RateLimit) => {
        const created = await keyward.keys.create(owner.actor, { name, scopes, rateLimit });
        return { id: created.apiKey.id, secret: created.key };
      };
      load = [];
      for (let i = 0; i < 3; i++) load.push(await make(`load ${i}`, ["read"], { requests: 1_000_000, windowSeconds: 60 }));
      // Refused most of the time: 429s are counted like any answer.
      load.push(await make("load limited", ["read"], { requests: 20, windowSeconds: 1 }));
      writer = await make("writer", ["write"], { requests: 1000, windowSeconds: 60 });
      keysBefore = rowsOf(await keyward.database.db.execute(sql`select ${identity} from api_keys order by id`));
    } finally {
      await keyward.close();
    }
  }, 120_000);

  afterAll(async () => {
    for (const server of servers) await server.stop();
    await environment?.dispose();
  });

  it("restarts on the same data: ready, migrated, keys intact, and no more usage lost than the answers of the last flush interval + 0.75 s", async () => {
    const starting = performance.now();
    const first = await start();
    const startMs = performance.now() - starting;
    const pid = first.child.pid!;
    /** Per key: answers the client got, and requests the kill cut off (the server may have answered and counted those). */
    const received = new Map<string, { ok: number; limited: number; cutOff: number }>(load.map((key) => [key.id, { ok: 0, limited: 0, cutOff: 0 }]));
    const answeredAt: number[] = [];
    let firstAnswer = Infinity;
    const failures: string[] = [];
    let killed = false;
    const loop = async (key: LoadKey) => {
      for (;;) {
        try {
          const response = await fetch(`${first.url}/api/v1/me`, { headers: { Authorization: `Bearer ${key.secret}` } });
          await response.arrayBuffer();
          answeredAt.push(performance.now());
          firstAnswer = Math.min(firstAnswer, performance.now());
          const tally = received.get(key.id)!;
          if (response.status === 200) tally.ok++;
          else if (response.status === 429) tally.limited++;
          else failures.push(`status ${response.status}`);
        } catch (error) {
          if (killed) {
            received.get(key.id)!.cutOff++;
            return;
          }
          failures.push(String((error as Error & { cause?: unknown }).cause ?? error));
          await sleep(50);
        }
      }
    };
    const loadStarted = performance.now();
    const loops = Array.from({ length: LOOPS }, (_, i) => loop(load[i % load.length]!));
    // Somewhere inside a flush interval, after a few flushes, and two after the first answer (a busy machine starts slowly).
    await sleep(3 * FLUSH_MS + Math.random() * FLUSH_MS);
    while (performance.now() - firstAnswer < 2 * FLUSH_MS) await sleep(100);
    const exited = new Promise((resolve) => first.child.once("exit", resolve));
    killed = true;
    const killedAt = performance.now();
    process.kill(-pid, "SIGKILL");
    await exited;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    expect(first.child.signalCode).toBe("SIGKILL");

    const embedded = !env.DATABASE_URL;
    const lockFile = path.join(env.KEYWARD_DATA_DIR!, "pglite.lock");
    // The dead process's lock is still there: the restart has to see it is stale.
    if (embedded) expect(fs.readFileSync(lockFile, "utf8").trim()).toBe(String(pid));

    const restarting = performance.now();
    const second = await start();
    const restartMs = performance.now() - restarting;

    /** Requests the second process answered, per key: all 200 or 201. */
    const answeredAfter = new Map<string, number>();
    const call = async (key: LoadKey, init: RequestInit = {}, route = "me") => {
      const response = await fetch(`${second.url}/api/v1/${route}`, { ...init, headers: { Authorization: `Bearer ${key.secret}`, "Content-Type": "application/json" } });
      answeredAfter.set(key.id, (answeredAfter.get(key.id) ?? 0) + 1);
      return response;
    };
    // The keys made before, and one made now, all work.
    for (const key of [...load, writer]) {
      const response = await call(key);
      expect(response.status, `the key ${key.id} after the restart`).toBe(200);
      expect(((await response.json()) as { apiKey: { id: string } }).apiKey.id).toBe(key.id);
    }
    const creating = await call(writer, { method: "POST", body: JSON.stringify({ name: "after the restart", scopes: ["read"] }) }, "keys");
    expect(creating.status).toBe(201);
    const created = (await creating.json()) as { key: string; apiKey: { id: string } };
    const fresh = { id: created.apiKey.id, secret: created.key };
    expect((await call(fresh)).status).toBe(200);
    // A graceful stop writes everything the second process counted, so only the first one's loss remains.
    await second.stop();
    expect(second.child.exitCode).toBe(0);
    if (embedded) expect(fs.existsSync(lockFile)).toBe(false);

    const handle = await openDatabase(loadConfig(env as NodeJS.ProcessEnv).database);
    try {
      const { db } = handle;
      // Every table reads, and every migration is recorded once.
      const tables = rowsOf<{ name: string }>(await db.execute(sql`select tablename as name from pg_tables where schemaname = 'public' order by 1`));
      expect(tables.map((table) => table.name)).toEqual(expect.arrayContaining(["api_keys", "usage_minutes", "request_log", "users"]));
      const counts: Record<string, number> = {};
      for (const { name } of tables) counts[name] = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from ${sql.identifier(name)}`))[0]!.n;
      const journal = JSON.parse(fs.readFileSync("db/migrations/meta/_journal.json", "utf8")) as { entries: unknown[] };
      expect(rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`))[0]!.n).toBe(journal.entries.length);

      // The keys are exactly as they were made, and the new one is there.
      const ids = [...load, writer].map((key) => key.id);
      expect(rowsOf(await db.execute(sql`select ${identity} from api_keys where id in ${ids} order by id`))).toEqual(keysBefore);
      expect(await db.select({ name: apiKeys.name }).from(apiKeys).where(eq(apiKeys.id, fresh.id))).toEqual([{ name: "after the restart" }]);

      // No half-written flush: its counters, request-log rows and key totals went in together.
      const allIds = [...ids, fresh.id];
      const minutes = await db
        .select({
          keyId: usageMinutes.keyId,
          requests: sql<number>`sum(${usageMinutes.requests})`.mapWith(Number),
          success: sql<number>`sum(${usageMinutes.success})`.mapWith(Number),
          rateLimited: sql<number>`sum(${usageMinutes.rateLimited})`.mapWith(Number),
        })
        .from(usageMinutes)
        .where(inArray(usageMinutes.keyId, allIds))
        .groupBy(usageMinutes.keyId);
      const logged = await db
        .select({
          keyId: requestLog.keyId,
          n: sql<number>`count(*)`.mapWith(Number),
          // The load's only refusals are its 429s, which are logged but are no use of the key.
          accepted: sql<number>`count(*) filter (where ${requestLog.status} <> 429)`.mapWith(Number),
        })
        .from(requestLog)
        .where(inArray(requestLog.keyId, allIds))
        .groupBy(requestLog.keyId);
      const totals = await db.select({ keyId: apiKeys.id, n: apiKeys.requestCount }).from(apiKeys).where(inArray(apiKeys.id, allIds));
      const byKey = (rows: { keyId: string; n: number }[]) => Object.fromEntries(rows.filter((row) => row.n > 0).map((row) => [row.keyId, row.n]));
      const counted = Object.fromEntries(minutes.map((row) => [row.keyId, row]));
      expect(byKey(logged)).toEqual(byKey(minutes.map((row) => ({ keyId: row.keyId, n: row.requests }))));
      expect(byKey(totals)).toEqual(byKey(logged.map((row) => ({ keyId: row.keyId, n: row.accepted }))));
      // What the second process answered is all there.
      expect(counted[writer.id]?.requests).toBe(answeredAfter.get(writer.id));
      expect(counted[fresh.id]?.requests).toBe(answeredAfter.get(fresh.id));

      // What the first process answered: no more than the client sent it (a request is counted before its answer is
      // written, so one the kill cut off may be counted), and short by at most one interval.
      let receivedTotal = 0;
      let countedTotal = 0;
      let cutOffTotal = 0;
      for (const key of load) {
        const got = received.get(key.id)!;
        const row = counted[key.id] ?? { requests: 0, success: 0, rateLimited: 0 };
        const later = answeredAfter.get(key.id)!;
        const before = { requests: row.requests - later, success: row.success - later, rateLimited: row.rateLimited };
        expect(before.success, `2xx counted for ${key.id}`).toBeLessThanOrEqual(got.ok + got.cutOff);
        expect(before.rateLimited, `429s counted for ${key.id}`).toBeLessThanOrEqual(got.limited + got.cutOff);
        receivedTotal += got.ok + got.limited;
        countedTotal += before.requests;
        cutOffTotal += got.cutOff;
      }
      const lost = receivedTotal - countedTotal;
      const loadMs = killedAt - loadStarted;
      // The rate just before the kill: a busy machine starts slowly, so the run's average understates it.
      const ratePerMs = answeredAt.filter((at) => at >= killedAt - 2 * FLUSH_MS).length / (2 * FLUSH_MS);
      const bound = answeredAt.filter((at) => at >= killedAt - FLUSH_MS - SLACK_MS).length;
      console.log(
        `[process kill] ${embedded ? "embedded" : "postgres"}: ${receivedTotal} answers in ${Math.round(loadMs)} ms (${Math.round(ratePerMs * 1000)}/s at the end), ` +
          `${cutOffTotal} cut off by the kill, ${countedTotal} counted, ${lost} lost ≈ ${Math.round(lost / ratePerMs)} ms of traffic (flush every ${FLUSH_MS} ms; bound ${bound} = answers in the last ${FLUSH_MS + SLACK_MS} ms); ` +
          `ready in ${Math.round(startMs)} ms, after the kill in ${Math.round(restartMs)} ms; rows: ${Object.entries(counts).map(([name, n]) => `${name} ${n}`).join(", ")}`,
      );
      // A flush happened before the kill, so the bound is about the last interval, not the whole run.
      expect(countedTotal).toBeGreaterThan(0);
      expect(lost).toBeGreaterThanOrEqual(-cutOffTotal);
      expect(lost).toBeLessThanOrEqual(bound);
    } finally {
      await handle.close();
    }
  });
});
