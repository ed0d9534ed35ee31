import { describe, expect, it } from "vitest";
import { ManualClock } from "../../app/services/clock.server";
import { FailedAuthThrottle, LoginThrottle } from "../../app/services/failed-auth-throttle.server";

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

  it("answers the middleware's admit seam in its shape", async () => {
    const throttle = new FailedAuthThrottle({ clock: new ManualClock(), limit: 1 });
    await expect(throttle.admit("::1")).resolves.toEqual({ allowed: true });
    throttle.recordFailure("::1");
    await expect(throttle.admit("::1")).resolves.toEqual({ allowed: false, retryAfterSeconds: 60 });
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
});

describe("login throttle", () => {
  it("blocks one address guessing at many accounts, and many addresses guessing at one account", () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle({ clock, limit: 3 });
    for (const email of ["a@example.test", "b@example.test", "c@example.test"]) throttle.recordFailure("192.0.2.1", email);
    expect(throttle.isBlocked("192.0.2.1", "someone-else@example.test")).toEqual({ blocked: true, retryAfterSeconds: 60 });

    for (const ip of ["192.0.2.10", "192.0.2.11"]) throttle.recordFailure(ip, "Victim@Example.test");
    clock.advance(30_000);
    throttle.recordFailure("192.0.2.12", " victim@example.test ");
    expect(throttle.isBlocked("192.0.2.99", "VICTIM@example.test")).toEqual({ blocked: true, retryAfterSeconds: 30 });
    expect(throttle.isBlocked("192.0.2.99", "other@example.test").blocked).toBe(false);
  });
});
