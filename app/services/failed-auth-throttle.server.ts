import crypto from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { addressBucket } from "../lib/ip";
import { systemClock, type Clock } from "./clock.server";

/**
 * Failed-authentication counters: what they own is in-memory state per instance, bounded by count
 * and by time; what they do not own is the answer (a 429 is written by the caller).
 */

export interface FailedAuthThrottleOptions {
  /** Failures allowed within `windowMs`; once reached, further attempts are refused. @default 20 */
  limit?: number;
  /** @default 60_000 */
  windowMs?: number;
  /** Most subjects tracked at once; the one that failed least recently is forgotten first. @default 20_000 */
  maxTracked?: number;
  clock?: Clock;
}

export interface ThrottleVerdict {
  blocked: boolean;
  /** Seconds until the oldest counted failure leaves the window (0 when not blocked). */
  retryAfterSeconds: number;
}

/**
 * A subject as a fixed-size map key (128 bits of SHA-256), so what a client typed, however long,
 * is never held: only its digest.
 */
const subjectKey = (subject: string) => crypto.createHash("sha256").update(subject).digest("base64url").slice(0, 22);

/**
 * Counts failed authentications per subject (a client address, an account) over a sliding window,
 * and refuses a subject that reached the limit before any lookup is done for it. Exact: each
 * subject keeps the times of its last `limit` failures. Bounded by count (`maxTracked` subjects,
 * each under a 22-character key) and by time: a subject is dropped once its last failure leaves
 * the window, by a sweep on every write and by an unref'd timer that runs only while anything is
 * tracked, so subjects never asked about again go too.
 */
export class FailedAuthThrottle {
  /** Subject key → failure times; Map order is the order of last failure, so the oldest come first. */
  private readonly failures = new Map<string, number[]>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxTracked: number;
  private readonly clock: Clock;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(options: FailedAuthThrottleOptions = {}) {
    this.limit = options.limit ?? 20;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxTracked = options.maxTracked ?? 20_000;
    this.clock = options.clock ?? systemClock;
  }

  /** Subjects with failures on record. */
  get size(): number {
    return this.failures.size;
  }

  isBlocked(subject: string): ThrottleVerdict {
    const now = this.clock.now().getTime();
    const times = this.recent(subjectKey(subject), now);
    if (times.length < this.limit) return { blocked: false, retryAfterSeconds: 0 };
    return { blocked: true, retryAfterSeconds: Math.max(1, Math.ceil((times[0]! + this.windowMs - now) / 1000)) };
  }

  /** The subject's failures inside the window (at most `limit`: no more are kept). */
  count(subject: string): number {
    return this.recent(subjectKey(subject), this.clock.now().getTime()).length;
  }

  recordFailure(subject: string): void {
    const now = this.clock.now().getTime();
    this.sweep(now);
    const key = subjectKey(subject);
    // A fresh array of exactly the kept times: a grown one would carry spare capacity for every subject.
    const times = [...this.recent(key, now), now].slice(-this.limit);
    // Re-inserted last: Map order is recency, so the first entry is the one to forget when full.
    this.failures.delete(key);
    this.failures.set(key, times);
    if (this.failures.size > this.maxTracked) this.failures.delete(this.failures.keys().next().value!);
    this.keepSweeping();
  }

  /** The subject's failures still inside the window (older ones are dropped). */
  private recent(key: string, now: number): number[] {
    const times = this.failures.get(key);
    if (!times) return [];
    while (times.length > 0 && times[0]! <= now - this.windowMs) times.shift();
    if (times.length === 0) this.failures.delete(key);
    return times;
  }

  /** Drops subjects whose last failure left the window: oldest first, so it stops at the first one still counting. */
  private sweep(now: number): void {
    for (const [key, times] of this.failures) {
      if (times[times.length - 1]! > now - this.windowMs) break;
      this.failures.delete(key);
    }
    if (this.failures.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  private keepSweeping(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweep(this.clock.now().getTime()), this.windowMs);
    // Expiry is housekeeping: it must never keep the process alive.
    this.sweeper.unref();
  }
}

export interface LoginThrottleOptions extends FailedAuthThrottleOptions {
  /** How the per-account slow-down waits (a test passes one that records the wait instead). */
  sleep?: (ms: number) => Promise<unknown>;
}

/** The longest a sign-in is held because its account is being guessed at from many addresses. */
export const MAX_ACCOUNT_SLOWDOWN_MS = 2_000;
const FIRST_SLOWDOWN_MS = 125;
/** Failures past the limit after which the slow-down, doubling from FIRST_SLOWDOWN_MS, reaches its maximum. */
const SLOWDOWN_STEPS = Math.log2(MAX_ACCOUNT_SLOWDOWN_MS / FIRST_SLOWDOWN_MS);

/**
 * The dashboard sign-in (and the current-password check of a password change). Refusals are per
 * client address bucket (an IPv4 address, an IPv6 /64): `limit` failures on any accounts refuse
 * the bucket, and half that many on one account refuse that account from that bucket, so one
 * person mistyping their own password does not lock out others behind the same address. An
 * account's failures from every address together never refuse anyone: past `limit` of them each
 * attempt on the account is held a little longer (doubling, at most MAX_ACCOUNT_SLOWDOWN_MS), so a
 * correct password from an address with no failures of its own always signs in.
 */
export class LoginThrottle {
  private readonly byAddress: FailedAuthThrottle;
  private readonly byAccountFromAddress: FailedAuthThrottle;
  private readonly byAccount: FailedAuthThrottle;
  private readonly limit: number;
  private readonly sleep: (ms: number) => Promise<unknown>;

  constructor(options: LoginThrottleOptions = {}) {
    const { sleep: wait = sleep, ...counter } = options;
    this.limit = counter.limit ?? 20;
    this.byAddress = new FailedAuthThrottle(counter);
    this.byAccountFromAddress = new FailedAuthThrottle({ ...counter, limit: this.accountFromAddressLimit });
    this.byAccount = new FailedAuthThrottle({ ...counter, limit: this.limit + SLOWDOWN_STEPS });
    this.sleep = wait;
  }

  /** Failures on one account from one address bucket that refuse further attempts from there. */
  get accountFromAddressLimit(): number {
    return Math.ceil(this.limit / 2);
  }

  /** Whether this address may try this account now; when it may, the answer comes after the account's slow-down. */
  async check(clientIp: string, email: string): Promise<ThrottleVerdict> {
    const address = addressBucket(clientIp);
    const account = normalizeEmail(email);
    const fromAddress = this.byAddress.isBlocked(address);
    const onAccount = this.byAccountFromAddress.isBlocked(accountFromAddress(account, address));
    if (fromAddress.blocked || onAccount.blocked) {
      return { blocked: true, retryAfterSeconds: Math.max(fromAddress.retryAfterSeconds, onAccount.retryAfterSeconds) };
    }
    const delay = this.slowDownMs(account);
    if (delay > 0) await this.sleep(delay);
    return { blocked: false, retryAfterSeconds: 0 };
  }

  recordFailure(clientIp: string, email: string): void {
    const address = addressBucket(clientIp);
    const account = normalizeEmail(email);
    this.byAddress.recordFailure(address);
    this.byAccountFromAddress.recordFailure(accountFromAddress(account, address));
    this.byAccount.recordFailure(account);
  }

  /** How long an attempt on the account is held: nothing up to `limit` failures in the window, then 125 ms doubling to the maximum. */
  slowDownMs(email: string): number {
    const excess = this.byAccount.count(normalizeEmail(email)) - this.limit;
    return excess < 0 ? 0 : Math.min(MAX_ACCOUNT_SLOWDOWN_MS, FIRST_SLOWDOWN_MS * 2 ** excess);
  }

  /** Subjects tracked by the three counters together. */
  get size(): number {
    return this.byAddress.size + this.byAccountFromAddress.size + this.byAccount.size;
  }
}

const normalizeEmail = (email: string) => email.trim().toLowerCase();
// An address holds no newline, so the last one splits the pair unambiguously: no two pairs share a subject.
const accountFromAddress = (account: string, address: string) => `${account}\n${address}`;
