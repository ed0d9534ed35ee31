import { openDatabase, type DatabaseHandle } from "../../db/client.server";
import type { Config } from "../config.server";
import { logger } from "../lib/logger.server";
import { AuditService } from "./audit.server";
import { OverviewService } from "./overview.server";
import { AuthService } from "./auth.server";
import { systemClock, type Clock } from "./clock.server";
import { CreditLedger } from "./credits.server";
import { EventBus } from "./events.server";
import { FailedAuthThrottle, LoginThrottle } from "./failed-auth-throttle.server";
import { ApiService } from "./apis.server";
import { IdempotencyStore } from "./idempotency.server";
import { IdentityService } from "./identities.server";
import { KeyService, type KeyRow } from "./keys.server";
import { LiveFeed, LiveStreams } from "./live.server";
import type { PasswordHashing } from "./passwords.server";
import { RateLimiter } from "./rate-limiter.server";
import { SecurityService } from "./alerts.server";
import { SecurityEventService } from "./security-events.server";
import { UsageRecorder, UsageService } from "./usage.server";
import { UserService } from "./users.server";
import { KeyViewCache } from "./key-view-cache.server";
import { Metrics } from "./metrics.server";
import { invalidatingPublisher, KeyVerifier, VerificationCache, type FailureCounter } from "./verification-cache.server";
import { WebhookDispatcher } from "./webhooks.server";

/** Everything a request needs, built once per process and handed to routes through Remix's load context. */
export interface Keyward {
  config: Config;
  database: DatabaseHandle;
  clock: Clock;
  events: EventBus;
  /** The services operators protect, and their customers. */
  apis: ApiService;
  identities: IdentityService;
  /** Root keys and issued keys: one lifecycle. */
  keys: KeyService;
  users: UserService;
  auth: AuthService;
  /** Stored first results of state-changing calls sent with an Idempotency-Key (REST and tRPC). */
  idempotency: IdempotencyStore;
  /** Presented key → key record, through the in-process cache. */
  verifier: KeyVerifier;
  securityEvents: SecurityEventService;
  /** Security event reads, alert rules and alerts (evaluated as events are written). */
  security: SecurityService;
  /** Set when KEYWARD_ALERT_WEBHOOK_URL is: delivers newly opened alerts. */
  webhooks?: WebhookDispatcher;
  /** Prometheus metrics, when KEYWARD_METRICS or KEYWARD_METRICS_PORT is set. */
  metrics?: Metrics;
  /**
   * Seams of the API-key middleware, always provided (a test may swap one for a fake or remove it):
   * per-key rate limits (bottleneck; shared through Redis when REDIS_URL is set), the failed-auth
   * throttle per client address bucket (consulted by `verifier.admit` before a database lookup),
   * and usage recording of requests and verifications (in memory, written in batches).
   */
  limiter?: Pick<RateLimiter, "consume">;
  authFailures?: FailureCounter;
  usage?: Pick<UsageRecorder, "record" | "recordVerification">;
  /** Failed dashboard sign-ins: refusals per address bucket and per account from a bucket; an account's failures from everywhere only slow it. */
  loginFailures: LoginThrottle;
  /** Usage series, summary and request log (what `usage` recorded), and the verifications of an API or an identity. */
  usageReports: UsageService;
  /** Reads of the audit trail (entries are written by the services that make the changes). */
  audit: AuditService;
  /** The dashboard overview's figures, within what the actor may see. */
  overview: OverviewService;
  /** Live event streams (dashboard and SDK) and their limits, counted in this process. */
  live: LiveStreams;
  close(): Promise<void>;
}

export interface KeywardOptions {
  config: Config;
  /** An already open database (tests); otherwise the one the config names is opened. */
  database?: DatabaseHandle;
  clock?: Clock;
  hashing?: PasswordHashing;
}

/** Opens the database, applies migrations, starts listening for events, and wires the services. */
export async function createKeyward({ config, database, clock = systemClock, hashing }: KeywardOptions): Promise<Keyward> {
  const handle = database ?? (await openDatabase(config.database));
  try {
    await handle.migrate();
    const events = new EventBus(handle);
    await events.start();
    const db = handle.db;
    const cache = new VerificationCache({ ttlMs: config.verificationCache.ttlSeconds * 1000, maxEntries: config.verificationCache.maxEntries });
    cache.listen(events);
    // Root keys' own views for GET /api/v1/me, dropped by the same events and by usage flushes.
    const viewCache = new KeyViewCache<KeyRow>({ ttlMs: config.verificationCache.ttlSeconds * 1000, maxEntries: config.verificationCache.maxEntries });
    events.subscribe((event) => viewCache.apply(event));
    // Changes made here drop this instance's cache entries before the call returns; NOTIFY tells the others.
    const publisher = invalidatingPublisher([cache, viewCache], events);
    const webhooks = config.alertWebhook
      ? new WebhookDispatcher({ ...config.alertWebhook, db, clock, onError: (message, error) => logger.error({ err: error }, message) })
      : undefined;
    const security = new SecurityService({ db, clock, events, webhooks });
    await security.ensureDefaultRules();
    const securityEvents = new SecurityEventService({ db, clock, evaluator: security });
    securityEvents.start();
    const apis = new ApiService({ db, clock, events: publisher });
    const identities = new IdentityService({ db, clock, apis, events: publisher, maxRateLimit: config.maxRateLimit });
    const keys = new KeyService({ apis, db, clock, secrets: config.digestSecrets, encryptionKey: config.encryptionKey, maxTtlDays: config.maxKeyTtlDays, defaultRateLimit: config.rateLimits.defaultLimit, maxRateLimit: config.maxRateLimit, events: publisher, securityEvents, viewCache });
    const limiter = new RateLimiter({
      defaultLimit: config.rateLimits.defaultLimit,
      redisUrl: config.redisUrl,
      redisTimeoutMs: config.rateLimits.redisTimeoutMs,
      onFallback: (error) =>
        securityEvents.record({ kind: "rate_limiter_fallback", severity: "warning", aggregate: false, details: { reason: error.message, effect: "limits are enforced per instance until Redis answers again" } }),
      onRecover: () => securityEvents.record({ kind: "rate_limiter_recovered", severity: "info", aggregate: false }),
    });
    const throttle = { limit: config.rateLimits.failedAuth.requests, windowMs: config.rateLimits.failedAuth.windowSeconds * 1000, clock };
    const usage = new UsageRecorder({ db, events: publisher, flushIntervalMs: config.usage.flushIntervalMs });
    usage.start();
    const usageReports = new UsageService({ db, clock, keys, apis, identities, requestLogRetentionDays: config.usage.requestLogRetentionDays });
    usageReports.start();
    const audit = new AuditService({ db, clock, keys, retentionDays: config.auditRetentionDays });
    audit.start();
    return {
      config,
      database: handle,
      clock,
      events,
      apis,
      identities,
      keys,
      users: new UserService({ db, clock, hashing, events: publisher }),
      auth: new AuthService({ db, clock, production: config.production, hashing }),
      idempotency: new IdempotencyStore({ db, clock, encryptionKey: config.encryptionKey }),
      verifier: new KeyVerifier({ keys, secrets: config.digestSecrets, clock, cache, limiter, credits: new CreditLedger({ db: handle.hotPathDb }) }),
      securityEvents,
      security,
      webhooks,
      metrics: config.metrics.enabled ? new Metrics({ limiter, usage, verificationCache: cache, webhooks }) : undefined,
      limiter,
      authFailures: new FailedAuthThrottle(throttle),
      loginFailures: new LoginThrottle(throttle),
      usage,
      usageReports,
      audit,
      overview: new OverviewService({ db, clock }),
      live: new LiveStreams(new LiveFeed({ events, db }), { maxOpen: config.eventStreams.maxOpen, maxAgeMs: config.eventStreams.maxAgeSeconds * 1000 }),
      async close() {
        // Usage first: its last flush publishes NOTIFY.
        usageReports.stop();
        audit.stop();
        await usage.close();
        await limiter.close();
        // The last flush may open alerts; their deliveries get a bounded wait.
        await securityEvents.stop();
        await webhooks?.close();
        await events.stop();
        if (!database) await handle.close();
      },
    };
  } catch (error) {
    if (!database) await handle.close();
    throw error;
  }
}
