import crypto from "node:crypto";
import Bottleneck from "bottleneck";
import type { Database } from "../../db/client.server";
import { alertDeliveries } from "../../db/schema";
import { systemClock, type Clock } from "./clock.server";

export const SIGNATURE_HEADER = "Keyward-Signature";

/** `t=<unix seconds>,v1=<hex HMAC-SHA-256 of "<t>.<body>">`: the timestamp is signed too, so a receiver can refuse replays. */
export function signWebhook(secret: string, body: string, timestampSeconds: number): string {
  return `t=${timestampSeconds},v1=${hmac(secret, timestampSeconds, body)}`;
}

/**
 * For receivers (and tests): true when `header` carries a v1 signature of `body` under `secret`
 * made within `toleranceSeconds` of `nowSeconds`. Constant-time comparison.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  body: string,
  toleranceSeconds = 300,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  if (!header) return false;
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [name, value] = part.trim().split("=", 2);
    if (name === "t" && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (name === "v1" && value && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === null || signatures.length === 0) return false;
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(hmac(secret, timestamp, body), "hex");
  return signatures.some((signature) => crypto.timingSafeEqual(Buffer.from(signature, "hex"), expected));
}

function hmac(secret: string, timestampSeconds: number, body: string): string {
  return crypto.createHmac("sha256", secret).update(`${timestampSeconds}.${body}`).digest("hex");
}

export interface WebhookDispatcherOptions {
  url: string;
  secret: string;
  db: Database;
  clock?: Clock;
  /** Attempts per alert, the first included. @default 5 */
  maxAttempts?: number;
  /** Wait before the second attempt; doubled for each further one (with jitter), capped at 5 minutes. @default 1000 */
  backoffMs?: number;
  /** Requests in flight at once. @default 2 */
  maxConcurrent?: number;
  /** Least time between the starts of two requests, so a storm of alerts reaches the receiver at a bounded rate. @default 200 */
  minTimeMs?: number;
  /** One attempt's time limit. @default 10000 */
  timeoutMs?: number;
  /** Reports failures of the dispatcher itself (not of the receiver, which go to alert_deliveries). */
  onError?: (message: string, error: unknown) => void;
}

const MAX_BACKOFF_MS = 300_000;

/**
 * POSTs alerts to the configured receiver: signed, paced through a bottleneck limiter, retried
 * with exponential backoff on network errors and 5xx (never on 4xx: the receiver refused it), and
 * every attempt recorded in alert_deliveries.
 */
export class WebhookDispatcher {
  private readonly limiter: Bottleneck;
  private readonly pending = new Set<Promise<void>>();
  private readonly clock: Clock;
  private closing = false;
  private wakeSleepers = new Set<() => void>();

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.clock = options.clock ?? systemClock;
    this.limiter = new Bottleneck({ maxConcurrent: options.maxConcurrent ?? 2, minTime: options.minTimeMs ?? 200 });
  }

  /** Queues a delivery; returns at once. The body is sent exactly as given to every attempt. */
  deliver(alertId: string, payload: unknown): void {
    if (this.closing) return;
    const body = JSON.stringify(payload);
    const task: Promise<void> = this.run(alertId, body)
      .catch((error) => this.options.onError?.(`Webhook delivery of ${alertId} failed`, error))
      .finally(() => this.pending.delete(task));
    this.pending.add(task);
  }

  /** Deliveries queued or in flight. */
  get size(): number {
    return this.pending.size;
  }

  /** Resolves when every queued delivery has finished (retries included). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /**
   * Stops taking deliveries and cuts retry waits short (no further attempts), then waits at most
   * `timeoutMs` for what is queued or in flight; whatever is still waiting after that is dropped.
   */
  async close(timeoutMs = 5000): Promise<void> {
    this.closing = true;
    for (const wake of this.wakeSleepers) wake();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.drain(), deadline]);
    clearTimeout(timer);
    await this.limiter.stop({ dropWaitingJobs: true }).catch(() => undefined);
  }

  private async run(alertId: string, body: string): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const { retry } = await this.limiter.schedule(() => this.attempt(alertId, body, attempt));
      if (!retry || this.closing || attempt === maxAttempts) return;
      await this.sleep(this.backoff(attempt));
      if (this.closing) return;
    }
  }

  /** Attempts so far by outcome: a 2xx, another status, or no answer (read by the metrics endpoint). */
  readonly attempts = { delivered: 0, refused: 0, error: 0 };

  private async attempt(alertId: string, body: string, attempt: number): Promise<{ retry: boolean }> {
    const at = this.clock.now();
    const started = performance.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(this.options.url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "User-Agent": "Keyward-Webhooks/1",
          [SIGNATURE_HEADER]: signWebhook(this.options.secret, body, Math.floor(at.getTime() / 1000)),
          "Keyward-Delivery": `${alertId}/${attempt}`,
        },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      statusCode = response.status;
      await response.body?.cancel().catch(() => undefined);
    } catch (caught) {
      error = describeFailure(caught);
    }
    const durationMs = performance.now() - started;
    this.attempts[statusCode !== null && statusCode >= 200 && statusCode < 300 ? "delivered" : statusCode === null ? "error" : "refused"]++;
    try {
      await this.options.db.insert(alertDeliveries).values({ alertId, attempt, statusCode, error, at, durationMs });
    } catch (caught) {
      this.options.onError?.(`Could not record webhook attempt ${attempt} of ${alertId}`, caught);
    }
    return { retry: error !== null || (statusCode !== null && statusCode >= 500) };
  }

  private backoff(attempt: number): number {
    const base = Math.min((this.options.backoffMs ?? 1000) * 2 ** (attempt - 1), MAX_BACKOFF_MS);
    // Jitter, so alerts that failed together do not retry together.
    return base / 2 + Math.random() * (base / 2);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakeSleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakeSleepers.add(wake);
    });
  }
}

/** Why no response came, without the URL (a receiver's URL may embed its own secret). */
function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: { code?: unknown } }).cause;
    if (error.name === "TimeoutError" || error.name === "AbortError") return "timeout";
    if (cause && typeof cause.code === "string") return cause.code;
    return error.name;
  }
  return "unknown error";
}
