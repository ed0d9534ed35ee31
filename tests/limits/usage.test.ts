import { logger } from "../../app/lib/logger.server";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { eq, sql } from "drizzle-orm";
import { apiKeys, requestLog, usageDays, usageHours, usageMinutes } from "../../db/schema";
import { ManualClock } from "../../app/services/clock.server";
import type { KeywardEvent } from "../../app/services/events.server";
import { isKeywardError } from "../../app/services/errors.server";
import { UsageRecorder, UsageService, type RecordedRequest } from "../../app/services/usage.server";
import { createUser, testKeyward, type TestKeyward } from "../support/keyward";

const clock = new ManualClock(new Date("2026-11-25T12:00:00Z"));
let kw: TestKeyward;
let admin: Awaited<ReturnType<typeof createUser>>;
let member: Awaited<ReturnType<typeof createUser>>;
let other: Awaited<ReturnType<typeof createUser>>;
let recorder: UsageRecorder;
let reports: UsageService;

beforeAll(async () => {
  kw = await testKeyward({ clock });
  // Not started: these tests flush when they mean to.
  recorder = new UsageRecorder({ db: kw.database.db, events: kw.events });
  reports = new UsageService({ db: kw.database.db, clock, keys: kw.keys, apis: kw.apis, identities: kw.identities });
  admin = await createUser(kw, "admin");
  member = await createUser(kw, "member");
  other = await createUser(kw, "member");
});

afterAll(async () => {
  await kw?.dispose();
});

const newKey = async (actor = member.actor, name = "usage") => (await kw.keys.create(actor, { name, scopes: ["read"] })).apiKey.id;

let requestCounter = 0;
function request(keyId: string, at: string | Date, status = 200, overrides: Partial<RecordedRequest> = {}): RecordedRequest {
  return {
    keyId,
    accepted: true,
    at: new Date(at),
    method: "GET",
    path: "/api/v1/keys",
    status,
    clientIp: "203.0.113.5",
    durationMs: 1.5,
    userAgent: "test-agent",
    requestId: `req-${++requestCounter}`,
    ...overrides,
  };
}

const storedCounts = (keyId: string) =>
  kw.database.db
    .select({
      requests: sql<number>`coalesce(sum(${usageMinutes.requests}), 0)`.mapWith(Number),
      rows: sql<number>`count(*)`.mapWith(Number),
    })
    .from(usageMinutes)
    .where(eq(usageMinutes.keyId, keyId))
    .then((rows) => rows[0]!);

const logCount = (keyId: string) =>
  kw.database.db
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(requestLog)
    .where(eq(requestLog.keyId, keyId))
    .then((rows) => rows[0]!.n);

describe("recording and flushing", () => {
  it("writes nothing on record(); after a flush the counts equal what was recorded, to the unit", async () => {
    const [a, b] = [await newKey(), await newKey()];
    // A burst over three minutes with every kind of outcome.
    const statuses = [200, 201, 204, 304, 401, 403, 429, 500, 503, 404, 422];
    const expected = { requests: 0, success: 0, denied: 0, rateLimited: 0, errors: 0 };
    for (let i = 0; i < 1_100; i++) {
      const status = statuses[i % statuses.length]!;
      recorder.record(request(i % 3 === 0 ? b : a, new Date(Date.parse("2026-11-25T11:57:00Z") + (i % 180) * 1000), status));
      if (i % 3 !== 0) {
        expected.requests++;
        if (status < 400) expected.success++;
        else if (status === 401 || status === 403) expected.denied++;
        else if (status === 429) expected.rateLimited++;
        else if (status >= 500) expected.errors++;
      }
    }
    expect(await storedCounts(a)).toEqual({ requests: 0, rows: 0 });
    expect(await logCount(a)).toBe(0);

    await recorder.flush();
    const series = await reports.series(member.actor, a, { from: "2026-11-25T11:57:00Z", to: "2026-11-25T12:00:00Z", granularity: "minute" });
    expect(series.totals).toEqual(expected);
    expect(series.points).toHaveLength(3);
    expect(series.points.map((p) => p.t)).toEqual(["2026-11-25T11:57:00.000Z", "2026-11-25T11:58:00.000Z", "2026-11-25T11:59:00.000Z"]);
    expect(series.points.reduce((sum, p) => sum + p.requests, 0)).toBe(733);
    expect(await logCount(a)).toBe(733);
    expect(await logCount(b)).toBe(367);
    const [keyRow] = await kw.database.db.select({ requestCount: apiKeys.requestCount }).from(apiKeys).where(eq(apiKeys.id, a));
    expect(keyRow!.requestCount).toBe(733);
  });

  it("adds up across flushes into the same minute (upserts)", async () => {
    const key = await newKey();
    for (let i = 0; i < 7; i++) recorder.record(request(key, "2026-11-25T10:00:30Z"));
    await recorder.flush();
    for (let i = 0; i < 5; i++) recorder.record(request(key, "2026-11-25T10:00:45Z", 429));
    await recorder.flush();
    expect(await storedCounts(key)).toEqual({ requests: 12, rows: 1 });
    const series = await reports.series(member.actor, key, { from: "2026-11-25T10:00:00Z", to: "2026-11-25T10:01:00Z", granularity: "minute" });
    expect(series.points).toEqual([{ t: "2026-11-25T10:00:00.000Z", requests: 12, success: 7, denied: 0, rateLimited: 5, errors: 0 }]);
  });

  it("moves last use forward only, with the address of the latest request", async () => {
    const key = await newKey();
    recorder.record(request(key, "2026-11-25T09:00:05Z", 200, { clientIp: "198.51.100.1" }));
    recorder.record(request(key, "2026-11-25T09:00:09Z", 200, { clientIp: "198.51.100.9" }));
    recorder.record(request(key, "2026-11-25T09:00:07Z", 200, { clientIp: "198.51.100.7" }));
    await recorder.flush();
    // A flush of older data (another instance, late) leaves the later use in place.
    recorder.record(request(key, "2026-11-25T08:59:00Z", 200, { clientIp: "198.51.100.200" }));
    await recorder.flush();
    const view = await kw.keys.get(member.actor, key);
    expect(view).toMatchObject({ lastUsedAt: "2026-11-25T09:00:09.000Z", lastUsedIp: "198.51.100.9", requestCount: 4 });
    const series = await reports.series(member.actor, key, { from: "2026-11-25T08:00:00Z", to: "2026-11-25T10:00:00Z", granularity: "hour" });
    expect(series).toMatchObject({ lastUsedAt: "2026-11-25T09:00:09.000Z", lastUsedIp: "198.51.100.9" });
  });

  it("counts refused requests as refusals without moving last use or the request count, even when a flush holds nothing else", async () => {
    const key = await newKey();
    recorder.record(request(key, "2026-11-25T08:00:05Z", 200, { clientIp: "198.51.100.1" }));
    await recorder.flush();
    recorder.record(request(key, "2026-11-25T08:00:20Z", 403, { clientIp: "192.0.2.66", accepted: false }));
    recorder.record(request(key, "2026-11-25T08:00:21Z", 429, { clientIp: "192.0.2.66", accepted: false }));
    await recorder.flush();
    expect(await kw.keys.get(member.actor, key)).toMatchObject({ lastUsedAt: "2026-11-25T08:00:05.000Z", lastUsedIp: "198.51.100.1", requestCount: 1 });
    const series = await reports.series(member.actor, key, { from: "2026-11-25T08:00:00Z", to: "2026-11-25T08:01:00Z", granularity: "minute" });
    expect(series.totals).toEqual({ requests: 3, success: 1, denied: 1, rateLimited: 1, errors: 0 });
    expect(await logCount(key)).toBe(3);
  });

  it("keeps the data when a flush fails and writes it, once, on the next one", async () => {
    const key = await newKey();
    const errors = vi.spyOn(logger, "error").mockImplementation(() => {});
    try {
      for (let i = 0; i < 10; i++) recorder.record(request(key, "2026-11-25T07:00:00Z"));
      await kw.database.db.execute(sql`alter table request_log rename to request_log_away`);
      await recorder.flush();
      expect(errors).toHaveBeenCalledWith({ err: expect.anything() }, "Could not write usage; keeping it for the next flush");
      await kw.database.db.execute(sql`alter table request_log_away rename to request_log`);
      // The failed transaction wrote nothing, not even the counters that came before the log.
      expect(await storedCounts(key)).toEqual({ requests: 0, rows: 0 });
      for (let i = 0; i < 3; i++) recorder.record(request(key, "2026-11-25T07:00:10Z"));
      await recorder.flush();
    } finally {
      errors.mockRestore();
    }
    expect(await storedCounts(key)).toEqual({ requests: 13, rows: 1 });
    expect(await logCount(key)).toBe(13);
    expect((await kw.keys.get(member.actor, key)).requestCount).toBe(13);
  });

  it("stays bounded while writes fail: request-log rows beyond the bound are dropped, counters kept", async () => {
    const key = await newKey();
    const bounded = new UsageRecorder({ db: kw.database.db, maxPendingRequests: 5 });
    for (let i = 0; i < 8; i++) bounded.record(request(key, "2026-11-25T06:00:00Z"));
    const warnings = vi.spyOn(logger, "warn").mockImplementation(() => {});
    try {
      await bounded.close();
      expect(warnings).toHaveBeenCalledWith({ dropped: 3 }, expect.stringContaining("3 request(s)"));
    } finally {
      warnings.mockRestore();
    }
    expect(await storedCounts(key)).toEqual({ requests: 8, rows: 1 });
    expect(await logCount(key)).toBe(5);
  });

  it("writes what is buffered on close()", async () => {
    const key = await newKey();
    const closing = new UsageRecorder({ db: kw.database.db, flushIntervalMs: 60_000 });
    closing.start();
    for (let i = 0; i < 25; i++) closing.record(request(key, "2026-11-25T05:00:00Z"));
    await closing.close();
    expect(await storedCounts(key)).toEqual({ requests: 25, rows: 1 });
    expect(await logCount(key)).toBe(25);
  });

  it("flushes on its own every interval", async () => {
    const key = await newKey();
    const timed = new UsageRecorder({ db: kw.database.db, flushIntervalMs: 100 });
    timed.start();
    try {
      timed.record(request(key, "2026-11-25T04:00:00Z"));
      await vi.waitFor(async () => expect(await storedCounts(key)).toEqual({ requests: 1, rows: 1 }), { timeout: 3_000, interval: 50 });
    } finally {
      await timed.close();
    }
  });

  it("announces each flush that wrote something through NOTIFY (usage.flushed with the key ids)", async () => {
    const key = await newKey();
    const seen: KeywardEvent[] = [];
    const unsubscribe = kw.events.subscribe((event) => seen.push(event));
    const mine = () => seen.filter((e) => e.type === "usage.flushed" && e.keyIds.includes(key));
    try {
      recorder.record(request(key, "2026-11-25T03:00:00Z"));
      recorder.record(request(key, "2026-11-25T03:00:01Z"));
      await recorder.flush();
      await vi.waitFor(() => expect(mine()).toHaveLength(1), { timeout: 3_000, interval: 20 });
      expect(mine()).toEqual([{ type: "usage.flushed", keyIds: [key] }]);
    } finally {
      unsubscribe();
    }
  });

  it("strips the query string and bounds the stored text", async () => {
    const key = await newKey();
    recorder.record(request(key, "2026-11-25T02:00:00Z", 200, { path: "/api/v1/keys?secret=abc", userAgent: "x".repeat(2_000) }));
    await recorder.flush();
    const { data } = await reports.requests(member.actor, key);
    expect(data[0]).toMatchObject({ path: "/api/v1/keys", method: "GET", status: 200, clientIp: "203.0.113.5", durationMs: 1.5 });
    expect(data[0]!.userAgent).toHaveLength(512);
  });
});

describe("reads", () => {
  it("aggregates by hour and by day in UTC, zeros included", async () => {
    const key = await newKey();
    recorder.record(request(key, "2026-11-23T23:59:59Z"));
    recorder.record(request(key, "2026-11-24T00:00:00Z", 500));
    recorder.record(request(key, "2026-11-24T00:59:00Z", 401));
    recorder.record(request(key, "2026-11-24T02:30:00Z"));
    await recorder.flush();

    const hourly = await reports.series(member.actor, key, { from: "2026-11-23T23:00:00Z", to: "2026-11-24T03:00:00Z", granularity: "hour" });
    expect(hourly.points.map((p) => [p.t.slice(11, 13), p.requests, p.success, p.denied, p.errors])).toEqual([
      ["23", 1, 1, 0, 0],
      ["00", 2, 0, 1, 1],
      ["01", 0, 0, 0, 0],
      ["02", 1, 1, 0, 0],
    ]);
    const daily = await reports.series(member.actor, key, { from: "2026-11-23T12:00:00Z", to: "2026-11-25T00:00:00Z", granularity: "day" });
    expect(daily.from).toBe("2026-11-23T00:00:00.000Z");
    expect(daily.points.map((p) => [p.t, p.requests])).toEqual([
      ["2026-11-23T00:00:00.000Z", 1],
      ["2026-11-24T00:00:00.000Z", 3],
    ]);
    expect(daily.totals).toEqual({ requests: 4, success: 2, denied: 1, rateLimited: 0, errors: 1 });
  });

  it("reads whole hours from the hourly roll-up and exact minutes at any bounds", async () => {
    const key = await newKey();
    // 300 requests spread over ~10 hours across midnight at uneven minutes, flushed in three batches (upserts add into the same buckets).
    const base = Date.parse("2026-11-20T18:00:00Z");
    const times = Array.from({ length: 300 }, (_, i) => base + ((i * 7919) % 600) * 60_000 + (i % 60) * 1000);
    for (const [i, at] of times.entries()) {
      recorder.record(request(key, new Date(at), i % 10 === 0 ? 429 : 200));
      if (i % 100 === 99) await recorder.flush();
    }
    for (const table of [usageHours, usageDays]) {
      const [rollUp] = await kw.database.db
        .select({ requests: sql<number>`coalesce(sum(${table.requests}), 0)`.mapWith(Number) })
        .from(table)
        .where(eq(table.keyId, key));
      expect(rollUp!.requests).toBe(300);
    }

    // Counters are per minute: a request counts when its minute starts in [from, to).
    const expected = (from: number, to: number) => times.map((at) => Math.floor(at / 60_000) * 60_000).filter((minute) => minute >= from && minute < to).length;
    for (const [from, to] of [
      ["2026-11-20T18:17:00Z", "2026-11-21T03:43:00Z"],
      ["2026-11-20T19:00:00Z", "2026-11-20T21:00:00Z"],
      ["2026-11-20T20:05:00Z", "2026-11-20T20:50:00Z"],
      ["2026-11-20T17:59:00Z", "2026-11-21T04:01:00Z"],
      ["2026-11-19T00:00:00Z", "2026-11-22T00:00:00Z"],
      ["2026-11-20T23:30:30Z", "2026-11-21T00:00:00Z"],
    ] as const) {
      const range = [Date.parse(from), Date.parse(to)] as const;
      const summary = await reports.summary(admin.actor, { from, to });
      const mine = summary.topKeys.find((top) => top.keyId === key);
      expect(mine?.requests ?? 0, `${from}…${to}`).toBe(expected(...range));
      const hourly = await reports.series(member.actor, key, { from, to, granularity: "hour" });
      expect(hourly.totals.requests, `${from}…${to} hourly`).toBe(expected(Math.floor(range[0] / 3_600_000) * 3_600_000, range[1]));
      const minutes = await reports.series(member.actor, key, { from, to, granularity: "minute" });
      // A chart starts at the bucket holding `from`.
      expect(minutes.totals.requests, `${from}…${to} by minute`).toBe(expected(Math.floor(range[0] / 60_000) * 60_000, range[1]));
      const daily = await reports.series(member.actor, key, { from, to, granularity: "day" });
      expect(daily.totals.requests, `${from}…${to} daily`).toBe(expected(Math.floor(range[0] / 86_400_000) * 86_400_000, range[1]));
      for (const point of hourly.points) {
        const start = Date.parse(point.t);
        expect(point.requests, `hour ${point.t}`).toBe(expected(start, Math.min(start + 3_600_000, range[1])));
      }
    }
  });

  it("defaults to the last 24 hours, hourly", async () => {
    const key = await newKey();
    const series = await reports.series(member.actor, key);
    expect(series).toMatchObject({ granularity: "hour", from: "2026-11-24T12:00:00.000Z", to: "2026-11-25T12:00:00.000Z" });
    expect(series.points).toHaveLength(24);
  });

  it("has the key's visibility: another member's key is not found; an admin sees it", async () => {
    const key = await newKey(other.actor);
    await expect(reports.series(member.actor, key)).rejects.toMatchObject({ code: "not_found" });
    await expect(reports.requests(member.actor, key)).rejects.toMatchObject({ code: "not_found" });
    await expect(reports.series(admin.actor, key)).resolves.toMatchObject({ keyId: key });
  });

  it("refuses minute-level ranges over 90 days and inverted ranges with 422", async () => {
    const key = await newKey();
    const refused = await reports
      .series(member.actor, key, { from: "2026-08-01T00:00:00Z", to: "2026-11-25T00:00:00Z", granularity: "minute" })
      .catch((error: unknown) => error);
    expect(isKeywardError(refused) && refused.code === "validation_failed" && refused.status === 422).toBe(true);
    expect((refused as Error).message).toMatch(/90 days.*choose hour or day/);
    await expect(reports.series(member.actor, key, { from: "2026-08-01T00:00:00Z", to: "2026-11-25T00:00:00Z", granularity: "day" })).resolves.toBeTruthy();
    await expect(reports.series(member.actor, key, { from: "2026-11-25T00:00:00Z", to: "2026-11-25T00:00:00Z" })).rejects.toMatchObject({ code: "validation_failed" });
  });

  it("summarises for admins: totals and the busiest keys; members are refused", async () => {
    const [busy, quiet] = [await newKey(member.actor, "busy"), await newKey(other.actor, "quiet")];
    for (let i = 0; i < 30; i++) recorder.record(request(busy, "2025-01-10T10:00:00Z", i < 3 ? 429 : 200));
    for (let i = 0; i < 4; i++) recorder.record(request(quiet, "2025-01-10T11:00:00Z", 403));
    await recorder.flush();
    const summary = await reports.summary(admin.actor, { from: "2025-01-10T00:00:00Z", to: "2025-01-11T00:00:00Z" });
    expect(summary.totals).toEqual({ requests: 34, success: 27, denied: 4, rateLimited: 3, errors: 0 });
    expect(summary.activeKeys).toBe(2);
    expect(summary.topKeys).toEqual([
      { keyId: busy, name: "busy", ownerId: member.id, requests: 30, success: 27, denied: 0, rateLimited: 3, errors: 0 },
      { keyId: quiet, name: "quiet", ownerId: other.id, requests: 4, success: 0, denied: 4, rateLimited: 0, errors: 0 },
    ]);
    const empty = await reports.summary(admin.actor, { from: "2024-01-10T00:00:00Z", to: "2024-01-11T00:00:00Z" });
    expect(empty).toMatchObject({ totals: { requests: 0, success: 0, denied: 0, rateLimited: 0, errors: 0 }, activeKeys: 0, topKeys: [] });
    await expect(reports.summary(member.actor)).rejects.toMatchObject({ code: "insufficient_scope" });
  });

  it("pages a key's request log newest first by cursor", async () => {
    const key = await newKey();
    for (let i = 0; i < 7; i++) recorder.record(request(key, new Date(Date.parse("2026-11-25T01:00:00Z") + i * 1000), 200, { requestId: `page-${i}` }));
    // Two in the same millisecond: the id breaks the tie.
    recorder.record(request(key, "2026-11-25T01:00:06Z", 200, { requestId: "page-6b" }));
    await recorder.flush();
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await reports.requests(member.actor, key, { limit: 3, cursor });
      expect(page.data.length).toBeLessThanOrEqual(3);
      seen.push(...page.data.map((entry) => entry.requestId!));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(["page-6b", "page-6", "page-5", "page-4", "page-3", "page-2", "page-1", "page-0"]);
    await expect(reports.requests(member.actor, key, { cursor: "bogus" })).rejects.toMatchObject({ code: "validation_failed" });
  });
});

describe("request log retention", () => {
  it("deletes only rows older than the cut-off", async () => {
    const key = await newKey();
    const now = Date.parse("2026-11-25T12:00:00Z");
    for (const daysAgo of [20, 15, 14.01, 13.99, 1]) recorder.record(request(key, new Date(now - daysAgo * 86_400_000)));
    await recorder.flush();
    const before = await logCount(key);
    const deleted = await reports.pruneRequestLog(new Date(now - 14 * 86_400_000));
    expect(before).toBe(5);
    expect(deleted).toBeGreaterThanOrEqual(3);
    expect(await logCount(key)).toBe(2);
    const remaining = await reports.requests(member.actor, key);
    expect(remaining.data.map((entry) => entry.occurredAt)).toEqual([new Date(now - 86_400_000).toISOString(), new Date(now - 13.99 * 86_400_000).toISOString()]);
    // Counters are not part of the log: they stay.
    expect((await storedCounts(key)).requests).toBe(5);
  });
});
