import { systemClock, type Clock } from "./clock.server";

export interface FailedAuthThrottleOptions {
  /** Failures allowed within `windowMs`; once reached, further attempts are refused. @default 20 */
  limit?: number;
  /** @default 60_000 */
  windowMs?: number;
  /** Most subjects tracked at once; the one that failed least recently is forgotten first. @default 100_000 */
  maxTracked?: number;
  clock?: Clock;
}

export interface ThrottleVerdict {
  blocked: boolean;
  /** Seconds until the oldest counted failure leaves the window (0 when not blocked). */
  retryAfterSeconds: number;
}

/**
 * Counts failed authentications per subject (a client address, an account's email) over a sliding
 * window, and refuses a subject that reached the limit before any lookup is done for it. Exact:
 * each subject keeps the times of its last `limit` failures, so memory is bounded by
 * `maxTracked × limit` numbers. In memory, per instance.
 */
export class FailedAuthThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxTracked: number;
  private readonly clock: Clock;

  constructor(options: FailedAuthThrottleOptions = {}) {
    this.limit = options.limit ?? 20;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxTracked = options.maxTracked ?? 100_000;
    this.clock = options.clock ?? systemClock;
  }

  /** Subjects with failures on record. */
  get size(): number {
    return this.failures.size;
  }

  isBlocked(subject: string): ThrottleVerdict {
    const now = this.clock.now().getTime();
    const times = this.recent(subject, now);
    if (times.length < this.limit) return { blocked: false, retryAfterSeconds: 0 };
    return { blocked: true, retryAfterSeconds: Math.max(1, Math.ceil((times[0]! + this.windowMs - now) / 1000)) };
  }

  recordFailure(subject: string): void {
    const now = this.clock.now().getTime();
    const times = this.recent(subject, now);
    times.push(now);
    if (times.length > this.limit) times.shift();
    // Re-inserted last: Map order is recency, so the first entry is the one to forget when full.
    this.failures.delete(subject);
    this.failures.set(subject, times);
    if (this.failures.size > this.maxTracked) this.failures.delete(this.failures.keys().next().value!);
  }

  /** The API-key middleware's seam: `isBlocked` for a client address, in its result shape. */
  async admit(clientIp: string): Promise<{ allowed: true } | { allowed: false; retryAfterSeconds: number }> {
    const verdict = this.isBlocked(clientIp);
    return verdict.blocked ? { allowed: false, retryAfterSeconds: verdict.retryAfterSeconds } : { allowed: true };
  }

  /** The subject's failures still inside the window (older ones are dropped). */
  private recent(subject: string, now: number): number[] {
    const times = this.failures.get(subject);
    if (!times) return [];
    while (times.length > 0 && times[0]! <= now - this.windowMs) times.shift();
    if (times.length === 0) this.failures.delete(subject);
    return times;
  }
}

/** The dashboard login: the same rule per client address and per account, so neither one address nor many can guess at one account. */
export class LoginThrottle {
  private readonly byIp: FailedAuthThrottle;
  private readonly byEmail: FailedAuthThrottle;

  constructor(options: FailedAuthThrottleOptions = {}) {
    this.byIp = new FailedAuthThrottle(options);
    this.byEmail = new FailedAuthThrottle(options);
  }

  /** Blocked when either the address or the account is; retry after the later of the two. */
  isBlocked(clientIp: string, email: string): ThrottleVerdict {
    const ip = this.byIp.isBlocked(clientIp);
    const account = this.byEmail.isBlocked(normalizeEmail(email));
    return { blocked: ip.blocked || account.blocked, retryAfterSeconds: Math.max(ip.retryAfterSeconds, account.retryAfterSeconds) };
  }

  recordFailure(clientIp: string, email: string): void {
    this.byIp.recordFailure(clientIp);
    this.byEmail.recordFailure(normalizeEmail(email));
  }
}

const normalizeEmail = (email: string) => email.trim().toLowerCase();
