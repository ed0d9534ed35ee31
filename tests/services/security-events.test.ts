import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { securityEvents } from "../../db/schema";
import { ManualClock } from "../../app/services/clock.server";
import { SecurityEventService, type TouchedGroup } from "../../app/services/security-events.server";
import { testKeyward, type TestKeyward } from "../support/keyward";

const clock = new ManualClock(new Date("2026-11-25T09:00:10Z"));
let kw: TestKeyward;

beforeAll(async () => {
  kw = await testKeyward({ clock });
});

afterAll(async () => {
  await kw?.dispose();
});

const rowsOf = (kind: "rate_limited" | "key_revealed" | "login_failed" | "invalid_key") => kw.database.db.select().from(securityEvents).where(eq(securityEvents.kind, kind));

describe("SecurityEventService", () => {
  it("aggregates high-volume kinds per minute per (kind, key, ip); one-off kinds get a row each", async () => {
    const evaluated: TouchedGroup[][] = [];
    const service = new SecurityEventService({ db: kw.database.db, clock, evaluator: { evaluate: async (touched) => void evaluated.push(touched) } });
    for (let i = 0; i < 30; i++) service.record({ kind: "rate_limited", severity: "info", keyId: "key_A", clientIp: "192.0.2.1" });
    for (let i = 0; i < 3; i++) service.record({ kind: "rate_limited", severity: "info", keyId: "key_A", clientIp: "192.0.2.2" });
    service.record({ kind: "key_revealed", severity: "warning", keyId: "key_A", aggregate: false });
    service.record({ kind: "key_revealed", severity: "warning", keyId: "key_A", aggregate: false });
    await service.flush();
    // The same minute, flushed separately: counted into the same row.
    clock.advance(20_000);
    for (let i = 0; i < 10; i++) service.record({ kind: "rate_limited", severity: "info", keyId: "key_A", clientIp: "192.0.2.1" });
    await service.flush();
    clock.advance(60_000);
    service.record({ kind: "rate_limited", severity: "info", keyId: "key_A", clientIp: "192.0.2.1" });
    await service.flush();

    const rows = await rowsOf("rate_limited");
    expect(rows.map((row) => [row.clientIp, row.occurredAt.toISOString(), row.count]).sort()).toEqual([
      ["192.0.2.1", "2026-11-25T09:00:00.000Z", 40],
      ["192.0.2.1", "2026-11-25T09:01:00.000Z", 1],
      ["192.0.2.2", "2026-11-25T09:00:00.000Z", 3],
    ]);
    const first = rows.find((row) => row.count === 40)!;
    expect(first.firstSeen.toISOString()).toBe("2026-11-25T09:00:10.000Z");
    expect(first.lastSeen.toISOString()).toBe("2026-11-25T09:00:30.000Z");
    expect(await rowsOf("key_revealed")).toHaveLength(2);

    // The rules are told which groups each written batch touched, once per batch.
    expect(evaluated).toHaveLength(3);
    expect(evaluated[0]).toHaveLength(4);
    expect(evaluated[0]).toContainEqual({ kind: "rate_limited", keyId: "key_A", clientIp: "192.0.2.2" });
    expect(evaluated[1]).toEqual([{ kind: "rate_limited", keyId: "key_A", clientIp: "192.0.2.1" }]);
  });

  it("counts an IPv6 client by its /64: one row a minute for a client rotating its addresses, keeping the first exact address", async () => {
    const evaluated: TouchedGroup[][] = [];
    const service = new SecurityEventService({ db: kw.database.db, clock, evaluator: { evaluate: async (touched) => void evaluated.push(touched) } });
    for (let host = 1; host <= 50; host++) service.record({ kind: "invalid_key", severity: "warning", clientIp: `2001:db8:77:1:${host.toString(16)}::1` });
    service.record({ kind: "invalid_key", severity: "warning", clientIp: "2001:db8:77:2::1" });
    // IPv4 addresses stay apart, each its own client.
    service.record({ kind: "invalid_key", severity: "warning", clientIp: "192.0.2.61" });
    service.record({ kind: "invalid_key", severity: "warning", clientIp: "192.0.2.62" });
    await service.flush();

    const rows = await rowsOf("invalid_key");
    expect(rows.map((row) => [row.clientIp, row.count, row.details]).sort()).toEqual([
      ["192.0.2.61", 1, {}],
      ["192.0.2.62", 1, {}],
      ["2001:db8:77:1:1::1", 50, { clientNetwork: "2001:db8:77:1::/64" }],
      ["2001:db8:77:2::1", 1, { clientNetwork: "2001:db8:77:2::/64" }],
    ]);
    expect(evaluated).toHaveLength(1);
    expect(evaluated[0]).toHaveLength(4);
  });

  it("a failing evaluation never loses the events, and a failed write is retried before it is evaluated", async () => {
    const errors: string[] = [];
    let failWrites = true;
    const evaluated: TouchedGroup[][] = [];
    const db = new Proxy(kw.database.db, {
      get: (target, property, receiver) =>
        property === "insert" && failWrites
          ? () => {
              throw new Error("database unreachable");
            }
          : Reflect.get(target, property, receiver),
    });
    const service = new SecurityEventService({
      db,
      clock,
      onError: (message) => errors.push(message),
      evaluator: {
        evaluate: async (touched) => {
          evaluated.push(touched);
          throw new Error("rules broke");
        },
      },
    });
    service.record({ kind: "login_failed", severity: "warning", clientIp: "192.0.2.50" });
    await service.flush();
    expect(evaluated).toHaveLength(0);
    expect(await rowsOf("login_failed")).toHaveLength(0);
    failWrites = false;
    service.record({ kind: "login_failed", severity: "warning", clientIp: "192.0.2.50" });
    await service.flush();
    expect(await rowsOf("login_failed")).toMatchObject([{ clientIp: "192.0.2.50", count: 2 }]);
    expect(evaluated).toHaveLength(1);
    expect(errors).toEqual([expect.stringContaining("Could not write"), expect.stringContaining("Could not evaluate")]);
  });
});
