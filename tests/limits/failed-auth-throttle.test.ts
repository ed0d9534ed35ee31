import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it, vi } from "vitest";
import { ManualClock } from "../../app/services/clock.server";
import { FailedAuthThrottle, LoginThrottle, MAX_ACCOUNT_SLOWDOWN_MS } from "../../app/services/failed-auth-throttle.server";

describe("failed-auth throttle per client address", () => {
  it("refuses from the 20th failure within a minute until the oldest one is a minute old", () => {
    const clock = new ManualClock(new Date("2026-11-25T10:00:00Z"));
    const throttle = new FailedAuthThrottle({ clock });
    const ip = "203.0.113.7";
    for (let i = 0; i < 19; i++) {
      throttle.recordFailure(ip);
      clock.advance(1_000);
    }
    // 19 failures: the next attempt is still looked up.
    expect(throttle.isBlocked(ip)).toEqual({ blocked: false, retryAfterSeconds: 0 });
    throttle.recordFailure(ip); // the 20th, at +19 s
    expect(throttle.isBlocked(ip)).toEqual({ blocked: true, retryAfterSeconds: 41 });

    clock.set(new Date("2026-11-25T10:00:59.999Z"));
    expect(throttle.isBlocked(ip)).toEqual({ blocked: true, retryAfterSeconds: 1 });
    clock.set(new Date("2026-11-25T10:01:00.000Z"));
    expect(throttle.isBlocked(ip).blocked).toBe(false);
    // One more failure fills the window again.
    throttle.recordFailure(ip);
    expect(throttle.isBlocked(ip)).toEqual({ blocked: true, retryAfterSeconds: 1 });
  });

  it("counts each address on its own, with the configured limit and window", () => {
    const clock = new ManualClock();
    const throttle = new FailedAuthThrottle({ clock, limit: 3, windowMs: 10_000 });
    for (let i = 0; i < 3; i++) throttle.recordFailure("10.0.0.1");
    expect(throttle.isBlocked("10.0.0.1")).toEqual({ blocked: true, retryAfterSeconds: 10 });
    expect(throttle.isBlocked("10.0.0.2").blocked).toBe(false);
    clock.advance(10_000);
    expect(throttle.isBlocked("10.0.0.1").blocked).toBe(false);
  });

  it("says how long a blocked subject waits", () => {
    const throttle = new FailedAuthThrottle({ clock: new ManualClock(), limit: 1 });
    expect(throttle.isBlocked("::1")).toEqual({ blocked: false, retryAfterSeconds: 0 });
    throttle.recordFailure("::1");
    expect(throttle.isBlocked("::1")).toEqual({ blocked: true, retryAfterSeconds: 60 });
  });

  it("stays bounded: forgets the least recently failing address beyond maxTracked, and addresses whose failures aged out", () => {
    const clock = new ManualClock();
    const throttle = new FailedAuthThrottle({ clock, limit: 2, maxTracked: 1_000 });
    throttle.recordFailure("first");
    throttle.recordFailure("first");
    expect(throttle.isBlocked("first").blocked).toBe(true);
    for (let i = 0; i < 5_000; i++) throttle.recordFailure(`198.51.100.${i}`);
    expect(throttle.size).toBe(1_000);
    expect(throttle.isBlocked("first").blocked).toBe(false);
    throttle.recordFailure("198.51.100.4999");
    expect(throttle.isBlocked("198.51.100.4999").blocked).toBe(true);
    clock.advance(60_000);
    expect(throttle.isBlocked("198.51.100.4999").blocked).toBe(false);
    expect(throttle.size).toBe(999);
  });

  it("forgets subjects whose failures left the window on the next write, even ones never asked about again", () => {
    const clock = new ManualClock();
    const throttle = new FailedAuthThrottle({ clock, limit: 3, windowMs: 10_000 });
    for (let i = 0; i < 1_000; i++) throttle.recordFailure(`203.0.113.${i}`);
    clock.advance(5_000);
    throttle.recordFailure("203.0.113.0");
    expect(throttle.size).toBe(1_000);
    clock.advance(5_000);
    throttle.recordFailure("198.51.100.1");
    // The 999 whose last failure is 10 s old are gone; the one that failed again 5 s ago stays.
    expect(throttle.size).toBe(2);
  });

  it("forgets them with no write at all once the window has passed (a timer that runs while anything is tracked)", async () => {
    const throttle = new FailedAuthThrottle({ limit: 3, windowMs: 200 });
    for (let i = 0; i < 100; i++) throttle.recordFailure(`203.0.113.${i}`);
    expect(throttle.size).toBe(100);
    await vi.waitFor(() => expect(throttle.size).toBe(0), { timeout: 5_000, interval: 50 });
  });

  it("never keeps the process alive: a process with a failure on record for an hour exits at once", async () => {
    const script = `
      import { FailedAuthThrottle } from "./app/services/failed-auth-throttle.server.ts";
      new FailedAuthThrottle({ windowMs: 3_600_000 }).recordFailure("203.0.113.7");
      console.log("recorded");
    `;
    const started = performance.now();
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { timeout: 20_000 });
    expect(stdout.trim()).toBe("recorded");
    // Far below the hour the sweep timer waits: it did not hold the event loop open.
    expect(performance.now() - started).toBeLessThan(15_000);
  });
});

describe("login throttle", () => {
  const recordingSleep = () => {
    const waits: number[] = [];
    return { waits, sleep: async (ms: number) => void waits.push(ms) };
  };

  it("refuses an address bucket after `limit` failures on any accounts, and no other address", async () => {
    const throttle = new LoginThrottle({ clock: new ManualClock(), limit: 4 });
    for (const email of ["a@example.test", "b@example.test", "c@example.test", "d@example.test"]) throttle.recordFailure("192.0.2.1", email);
    await expect(throttle.check("192.0.2.1", "someone-else@example.test")).resolves.toEqual({ blocked: true, retryAfterSeconds: 60 });
    await expect(throttle.check("192.0.2.2", "a@example.test")).resolves.toEqual({ blocked: false, retryAfterSeconds: 0 });
  });

  it("refuses one account from one address after half the limit, leaving that address's other accounts and the account's other addresses alone", async () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle({ clock, limit: 4 });
    expect(throttle.accountFromAddressLimit).toBe(2);
    throttle.recordFailure("192.0.2.1", "Victim@Example.test");
    clock.advance(30_000);
    throttle.recordFailure("192.0.2.1", " victim@example.test ");
    await expect(throttle.check("192.0.2.1", "VICTIM@example.test")).resolves.toEqual({ blocked: true, retryAfterSeconds: 30 });
    await expect(throttle.check("192.0.2.1", "colleague@example.test")).resolves.toEqual({ blocked: false, retryAfterSeconds: 0 });
    await expect(throttle.check("192.0.2.99", "victim@example.test")).resolves.toEqual({ blocked: false, retryAfterSeconds: 0 });
    clock.advance(30_000);
    await expect(throttle.check("192.0.2.1", "victim@example.test")).resolves.toEqual({ blocked: false, retryAfterSeconds: 0 });
  });

  it("never refuses an account guessed at from many addresses: it slows each attempt, doubling from 125 ms up to 2 s, until the window passes", async () => {
    const clock = new ManualClock();
    const { waits, sleep } = recordingSleep();
    const throttle = new LoginThrottle({ clock, limit: 4, sleep });
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) {
      delays.push(throttle.slowDownMs("victim@example.test"));
      throttle.recordFailure(`198.51.100.${i}`, "victim@example.test");
    }
    expect(delays).toEqual([0, 0, 0, 0, 125, 250, 500, 1_000, 2_000, 2_000, 2_000, 2_000]);
    // A fresh address with the right password is let through, after the slow-down.
    await expect(throttle.check("203.0.113.5", "victim@example.test")).resolves.toEqual({ blocked: false, retryAfterSeconds: 0 });
    expect(waits).toEqual([MAX_ACCOUNT_SLOWDOWN_MS]);
    // Other accounts are not slowed.
    await throttle.check("203.0.113.5", "other@example.test");
    expect(waits).toEqual([MAX_ACCOUNT_SLOWDOWN_MS]);
    clock.advance(60_000);
    expect(throttle.slowDownMs("victim@example.test")).toBe(0);
  });

  it("counts an IPv6 client by its /64: rotating addresses inside it does not escape, another /64 is not refused", async () => {
    const throttle = new LoginThrottle({ clock: new ManualClock(), limit: 4 });
    for (let i = 1; i <= 4; i++) throttle.recordFailure(`2001:db8:1:2::${i.toString(16)}`, `user${i}@example.test`);
    await expect(throttle.check("2001:db8:1:2:ffff:ffff:ffff:ffff", "new@example.test")).resolves.toMatchObject({ blocked: true });
    await expect(throttle.check("2001:db8:1:3::1", "new@example.test")).resolves.toMatchObject({ blocked: false });
    // The same /64 guessing at one account is refused after half the limit too.
    throttle.recordFailure("2001:db8:9:9::1", "victim@example.test");
    throttle.recordFailure("2001:db8:9:9::2", "victim@example.test");
    await expect(throttle.check("2001:db8:9:9:abcd::3", "victim@example.test")).resolves.toMatchObject({ blocked: true });
  });
});
