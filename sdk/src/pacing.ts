import Bottleneck from "bottleneck";
import { parseRetryAfter } from "./errors";

export interface PacingOptions {
  /** Most requests in flight at once (every call then goes through bottleneck's queue). @default null (no limit) */
  maxConcurrent?: number | null;
}

/** Same window when two answers announce resets less than this far apart. */
const SAME_WINDOW_MS = 1_000;

/**
 * Refill this long after the announced reset: the server refills its window on its own timer tick,
 * which a busy server runs late, and a request landing just before that tick would be a 429.
 */
const REFILL_MARGIN_MS = 250;

function headerInt(headers: Headers, name: string): number | null {
  const value = headers.get(name);
  return value !== null && /^\d+$/.test(value.trim()) ? Number(value.trim()) : null;
}

/**
 * Keeps a client inside its key's rate limit. Every answer's `RateLimit-Remaining` (less the
 * requests still in flight, which the server has not counted yet) becomes the budget, held as a
 * bottleneck reservoir; at `RateLimit-Reset` it is refilled to `RateLimit-Limit`. With the budget
 * spent, calls wait in bottleneck's queue instead of collecting 429s.
 *
 * While budget is left and nobody is queued, a call goes straight out: bottleneck's local
 * datastore waits a timer tick or more per scheduled job (~5 ms a call on a busy machine), a
 * price worth paying only when there is something to wait for.
 *
 * Until the first answer, one request goes at a time (a burst must not outrun what the server has
 * yet to say). An answer without the headers means the server announces no limit: from then on
 * nothing is held back.
 */
export class Pacer {
  private readonly limiter: Bottleneck;
  private readonly queueEveryCall: boolean;
  private refillTimer: ReturnType<typeof setTimeout> | null = null;
  private window: { endsAt: number; budget: number } | null = null;
  private state: "probing" | "paced" | "open" = "probing";
  /** The budget as last known; mirrors the reservoir, which bottleneck only reports asynchronously. */
  private tokens = 1;
  private inFlight = 0;

  constructor(options: PacingOptions = {}, private readonly now: () => number = Date.now) {
    this.queueEveryCall = options.maxConcurrent != null;
    this.limiter = new Bottleneck({ maxConcurrent: options.maxConcurrent ?? null, reservoir: 1 });
  }

  /** Runs one request when the budget allows, and learns the budget from its answer. */
  run(request: () => Promise<Response>): Promise<Response> {
    const straight = !this.queueEveryCall && (this.state === "open" || (this.state === "paced" && this.tokens > 0 && this.limiter.counts().QUEUED === 0));
    if (!straight) {
      return this.limiter.schedule(() => {
        // bottleneck took one from its reservoir to start this job.
        if (this.state !== "open") this.tokens = Math.max(0, this.tokens - 1);
        return this.send(request);
      });
    }
    if (this.state === "paced") this.setTokens(this.tokens - 1);
    return this.send(request);
  }

  private async send(request: () => Promise<Response>): Promise<Response> {
    this.inFlight++;
    let answered = false;
    try {
      const response = await request();
      answered = true;
      this.inFlight--;
      this.observe(response);
      return response;
    } finally {
      if (!answered) {
        this.inFlight--;
        // No answer while probing: let the next request probe instead.
        if (this.state === "probing") this.setTokens(this.tokens + 1);
      }
    }
  }

  private setTokens(tokens: number | null): void {
    this.tokens = tokens ?? Infinity;
    void this.limiter.updateSettings({ reservoir: tokens });
  }

  private observe(response: Response): void {
    const { headers } = response;
    const limit = headerInt(headers, "ratelimit-limit");
    let remaining = headerInt(headers, "ratelimit-remaining");
    let resetSeconds = headerInt(headers, "ratelimit-reset");
    if (response.status === 429) {
      remaining = 0;
      resetSeconds = parseRetryAfter(headers.get("retry-after"), this.now()) ?? resetSeconds;
    }
    if (remaining === null) {
      if (this.state === "probing") {
        this.state = "open";
        this.setTokens(null);
      }
      return;
    }
    this.state = "paced";

    const endsAt = this.now() + (resetSeconds ?? 0) * 1000;
    // Answers overtake each other: within one window, an older (larger) count must not raise the budget.
    if (this.window && Math.abs(this.window.endsAt - endsAt) < SAME_WINDOW_MS && remaining > this.window.budget) return;
    this.window = { endsAt, budget: remaining };

    this.setTokens(Math.max(0, remaining - this.inFlight));
    if (resetSeconds !== null) this.refillAt(resetSeconds * 1000 + REFILL_MARGIN_MS, limit);
  }

  private refillAt(delayMs: number, limit: number | null): void {
    if (this.refillTimer !== null) clearTimeout(this.refillTimer);
    this.refillTimer = setTimeout(() => {
      this.refillTimer = null;
      this.window = null;
      // A new window: its full budget, or no brake at all when its size is unknown.
      if (limit === null) this.state = "open";
      this.setTokens(limit);
    }, delayMs);
    // Never keep a Node process alive just to refill a budget.
    (this.refillTimer as { unref?: () => void }).unref?.();
  }
}
