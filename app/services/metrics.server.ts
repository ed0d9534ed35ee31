import client from "prom-client";
import { databaseFailures } from "../../db/errors";
import type { RateLimiter } from "./rate-limiter.server";
import type { UsageRecorder } from "./usage.server";
import type { VerificationCache } from "./verification-cache.server";
import type { WebhookDispatcher } from "./webhooks.server";

/** What the metrics read when scraped: the services' own counters. */
export interface MetricsSources {
  limiter: Pick<RateLimiter, "decisions" | "size">;
  usage: Pick<UsageRecorder, "verificationTotals" | "buffered" | "lastFlush">;
  verificationCache: Pick<VerificationCache, "hits" | "misses" | "size">;
  webhooks?: Pick<WebhookDispatcher, "attempts" | "size">;
}

/**
 * Prometheus metrics (prom-client), off unless KEYWARD_METRICS=1 or KEYWARD_METRICS_PORT is set.
 *
 * The request path pays for one histogram observation per request; everything else is plain
 * counters the services keep anyway (cache hits, limiter decisions, verification totals, flush
 * timings, webhook attempts), read only when Prometheus scrapes, so a disabled endpoint costs
 * nothing and an enabled one almost nothing. Labels are bounded: route templates (an API request
 * that matched no route is `unmatched`, a page is `page`), status classes, outcomes, API ids.
 */
export class Metrics {
  readonly registry = new client.Registry();
  private readonly requests: client.Histogram<"method" | "route" | "status_class">;

  constructor(sources: MetricsSources) {
    client.collectDefaultMetrics({ register: this.registry, prefix: "keyward_" });
    const registers = [this.registry];
    this.requests = new client.Histogram({
      name: "keyward_http_requests_seconds",
      help: "HTTP requests by route template and status class, and how long they took",
      labelNames: ["method", "route", "status_class"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });

    const { usage, limiter, verificationCache: cache, webhooks } = sources;
    new client.Counter({
      name: "keyward_verifications_total",
      help: "Verifications of issued keys by API and outcome (VALID, RATE_LIMITED, USAGE_EXCEEDED, …)",
      labelNames: ["api_id", "outcome"],
      registers,
      collect() {
        this.reset();
        for (const [slot, count] of usage.verificationTotals) {
          const [apiId, outcome] = slot.split("|") as [string, string];
          this.inc({ api_id: apiId, outcome }, count);
        }
      },
    });
    new client.Gauge({
      name: "keyward_usage_buffered",
      help: "Usage entries (request-log lines and counter rows) waiting for the next flush",
      registers,
      collect() {
        this.set(usage.buffered);
      },
    });
    new client.Gauge({
      name: "keyward_usage_last_flush_duration_seconds",
      help: "How long the last usage flush took",
      registers,
      collect() {
        this.set((usage.lastFlush?.durationMs ?? 0) / 1000);
      },
    });
    new client.Gauge({
      name: "keyward_usage_flush_lag_seconds",
      help: "Seconds since the last successful usage flush ended (grows when writes fail)",
      registers,
      collect() {
        const last = usage.lastFlush;
        this.set(last?.ok ? (Date.now() - last.at) / 1000 : 0);
      },
    });

    new client.Counter({
      name: "keyward_rate_limit_decisions_total",
      help: "Rate-limit decisions by where they were made (local, redis, fallback: Redis configured but decided locally) and outcome",
      labelNames: ["backend", "outcome"],
      registers,
      collect() {
        this.reset();
        for (const [backend, counts] of Object.entries(limiter.decisions)) {
          this.inc({ backend, outcome: "allowed" }, counts.allowed);
          this.inc({ backend, outcome: "refused" }, counts.refused);
        }
      },
    });
    new client.Gauge({
      name: "keyward_rate_limiters",
      help: "Per-key limiters this instance holds",
      registers,
      collect() {
        this.set(limiter.size);
      },
    });

    new client.Counter({
      name: "keyward_verification_cache_lookups_total",
      help: "Key lookups by the verification cache: hit or miss",
      labelNames: ["result"],
      registers,
      collect() {
        this.reset();
        this.inc({ result: "hit" }, cache.hits);
        this.inc({ result: "miss" }, cache.misses);
      },
    });
    new client.Gauge({
      name: "keyward_verification_cache_entries",
      help: "Keys held by the verification cache",
      registers,
      collect() {
        this.set(cache.size);
      },
    });

    new client.Counter({
      name: "keyward_webhook_attempts_total",
      help: "Alert webhook delivery attempts by outcome (delivered: 2xx; refused: another status; error: no answer)",
      labelNames: ["outcome"],
      registers,
      collect() {
        this.reset();
        for (const [outcome, count] of Object.entries(webhooks?.attempts ?? { delivered: 0, refused: 0, error: 0 })) this.inc({ outcome }, count);
      },
    });
    new client.Gauge({
      name: "keyward_webhook_pending",
      help: "Alert webhook deliveries queued or in flight on this instance",
      registers,
      collect() {
        this.set(webhooks?.size ?? 0);
      },
    });

    new client.Counter({
      name: "keyward_database_unavailable_total",
      help: "Requests answered 503 because the database could not answer (down, unreachable, or a statement timeout)",
      registers,
      collect() {
        this.reset();
        this.inc(databaseFailures.unavailable);
      },
    });
    new client.Counter({
      name: "keyward_database_statement_timeouts_total",
      help: "Statements cancelled by KEYWARD_STATEMENT_TIMEOUT_MS",
      registers,
      collect() {
        this.reset();
        this.inc(databaseFailures.statementTimeouts);
      },
    });
  }

  /** One finished request. `route` is a template, never a raw path (bounded labels). */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.requests.observe({ method, route, status_class: `${Math.floor(status / 100)}xx` }, seconds);
  }

  /** The text exposition format, and its content type. */
  async render(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

/** Methods kept as labels; anything else is `other` (a client can send any token as a method). */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** An id-like path segment: a prefixed id (`key_…`), a number, or a long opaque token. */
const ID_SEGMENT = /^(?:[a-z]{2,5}_[0-9A-Za-z]{8,}|\d+|[0-9a-f-]{16,})$/;

/**
 * The label of a request's route: the API path with ids replaced by `:id`, for an answer that
 * matched a route; `unmatched` for an API 404/405 (any path would otherwise become a label);
 * `page` for the dashboard, `asset` for static files.
 */
export function routeLabel(path: string, status: number): string {
  if (path.startsWith("/build/") || path === "/favicon.ico") return "asset";
  if (!path.startsWith("/api/")) return "page";
  if (status === 404 || status === 405) return "unmatched";
  if (path.startsWith("/api/trpc/")) return "/api/trpc/:procedure";
  return path
    .split("/")
    .map((segment) => (ID_SEGMENT.test(segment) ? ":id" : segment))
    .join("/");
}

export function methodLabel(method: string | undefined): string {
  return method && METHODS.has(method) ? method : "other";
}
