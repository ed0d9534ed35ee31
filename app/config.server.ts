import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { RateLimit } from "../db/schema";
import { rateLimitSchema, rateLimitWithin } from "./lib/key-schemas";

const base64Key = (name: string) =>
  z
    .string()
    .trim()
    .refine((value) => Buffer.from(value, "base64").length === 32, {
      message: `${name} must be 32 random bytes in base64 (generate one with: openssl rand -base64 32)`,
    });

const positiveInt = z.coerce.number().int().positive();

/** Reads `requests/windowSeconds` (e.g. `1000/60`); a bare number is per minute. */
const toRateLimit =
  (name: string, example: string) =>
  (value: string, ctx: z.RefinementCtx): RateLimit => {
    const match = /^\s*(\d+)\s*(?:\/\s*(\d+)\s*)?$/.exec(value);
    const parsed = rateLimitSchema.safeParse(match ? { requests: Number(match[1]), windowSeconds: Number(match[2] ?? 60) } : null);
    if (!parsed.success) {
      ctx.addIssue({ code: "custom", message: `${name} must look like \`requests/windowSeconds\` (e.g. ${example}), window 1–86400 s` });
      return z.NEVER;
    }
    return parsed.data;
  };

const rateLimitText = (name: string, fallback: string) => z.string().default(fallback).transform(toRateLimit(name, fallback));

/** The bound on every key's rate limit: unset = only the schema's own bounds. */
const maxRateLimitText = z.string().transform(toRateLimit("KEYWARD_MAX_RATE_LIMIT", "100000/60")).optional();

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default("0.0.0.0"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "DATABASE_URL must be a postgres:// or postgresql:// URL")
    .optional(),
  /** Where the embedded database and generated secrets live. */
  KEYWARD_DATA_DIR: z.string().default("./.data"),
  KEYWARD_SECRET: base64Key("KEYWARD_SECRET").optional(),
  /** Version stamped on digests made with KEYWARD_SECRET; raise it when you rotate the secret. */
  KEYWARD_SECRET_VERSION: positiveInt.default(1),
  /** Earlier secrets still accepted for lookups: `version:base64,version:base64`. */
  KEYWARD_PREVIOUS_SECRETS: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (!value) return [];
      const parsed = value.split(",").map((entry) => {
        const [version, secret] = entry.split(":");
        return { version: Number(version), secret: secret?.trim() ?? "" };
      });
      for (const { version, secret } of parsed) {
        if (!Number.isInteger(version) || version < 1 || Buffer.from(secret, "base64").length !== 32) {
          ctx.addIssue({ code: "custom", message: "KEYWARD_PREVIOUS_SECRETS must look like `1:<base64 32 bytes>,2:<…>`" });
        }
      }
      return parsed;
    }),
  KEYWARD_ENCRYPTION_KEY: base64Key("KEYWARD_ENCRYPTION_KEY").optional(),
  /** Public origin of the dashboard (e.g. https://keys.example.com); cookie-authenticated writes must come from it. */
  KEYWARD_ORIGIN: z.url().optional(),
  /** Longest lifetime a key may be given, in days; unset = "never expires" is allowed. */
  KEYWARD_MAX_KEY_TTL_DAYS: positiveInt.optional(),
  /** How many proxy hops to trust in X-Forwarded-For (0 = ignore forwarded headers). Formerly TRUST_PROXY. */
  KEYWARD_TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  /** Formerly LOG_LEVEL. */
  KEYWARD_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "silent"]).default("info"),
  /** Seconds a verified key is served from the in-process cache (0 = off); changes invalidate it at once through NOTIFY. */
  KEYWARD_VERIFY_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  /** Most keys the verification cache holds per process. */
  KEYWARD_VERIFY_CACHE_SIZE: positiveInt.default(10_000),
  /** Benchmarks only: serves GET /api/v1/bench/me for this key id WITHOUT authentication. Never set it on a real deployment. */
  KEYWARD_BENCH_KEY_ID: z.string().regex(/^key_[0-9A-Za-z]{20}$/).optional(),
  /** Set: per-key rate limits are shared by every instance through this Redis (bottleneck's clustering). Unset: per process. */
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "REDIS_URL must be a redis:// or rediss:// URL").optional(),
  /** The rate limit of keys that have none of their own. */
  KEYWARD_DEFAULT_RATE_LIMIT: rateLimitText("KEYWARD_DEFAULT_RATE_LIMIT", "1000/60"),
  /** Set: the loosest rate limit any key may be given, by anyone (`requests/windowSeconds`); KEYWARD_DEFAULT_RATE_LIMIT must lie within it. */
  KEYWARD_MAX_RATE_LIMIT: maxRateLimitText,
  /** Failed authentications allowed per client address (and per account on the dashboard login) before further attempts get 429. */
  KEYWARD_FAILED_AUTH_LIMIT: rateLimitText("KEYWARD_FAILED_AUTH_LIMIT", "20/60"),
  /** How often usage counters and the request log are written, in ms; a crash loses at most this much. */
  KEYWARD_USAGE_FLUSH_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
  KEYWARD_REQUEST_LOG_RETENTION_DAYS: positiveInt.default(14),
  /** Postgres only: the longest a statement may run before it is cancelled (the request then gets 503). */
  KEYWARD_STATEMENT_TIMEOUT_MS: positiveInt.default(10_000),
  /** Most live event streams open at once on this instance per key (/api/v1/events) and per signed-in user (/api/events); past it, 429. */
  KEYWARD_MAX_EVENT_STREAMS: positiveInt.default(10),
  /** Seconds an event stream stays open before the server ends it and the client reconnects (and is authenticated again). */
  KEYWARD_EVENT_STREAM_MAX_AGE_SECONDS: positiveInt.max(86_400).default(3600),
  /** 1: GET /metrics (Prometheus) on the main port. */
  KEYWARD_METRICS: z.enum(["0", "1"]).default("0"),
  /** Set: GET /metrics on this port of its own (and not on the main one), e.g. reachable only inside the cluster. */
  KEYWARD_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** Set: /metrics requires `Authorization: Bearer <this>`. */
  KEYWARD_METRICS_TOKEN: z.string().trim().min(16, "KEYWARD_METRICS_TOKEN must be at least 16 characters").optional(),
  /** Unset: the audit trail is kept forever. */
  KEYWARD_AUDIT_RETENTION_DAYS: positiveInt.optional(),
  /** Most calls in one tRPC batch made with an API key (each call consumes one request of the key's limit). */
  KEYWARD_MAX_TRPC_BATCH: positiveInt.default(20),
  /** With REDIS_URL: a rate-limit call to Redis slower than this is decided by this instance alone. */
  KEYWARD_REDIS_TIMEOUT_MS: positiveInt.default(250),
  /** Set: every newly opened alert is POSTed here as JSON, signed (Keyward-Signature) with KEYWARD_ALERT_WEBHOOK_SECRET. Formerly ALERT_WEBHOOK_URL. */
  KEYWARD_ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: "KEYWARD_ALERT_WEBHOOK_URL must be an http:// or https:// URL" }).optional(),
  /** The HMAC-SHA-256 key of webhook signatures; required in production when KEYWARD_ALERT_WEBHOOK_URL is set, generated otherwise. Formerly ALERT_WEBHOOK_SECRET. */
  KEYWARD_ALERT_WEBHOOK_SECRET: z.string().trim().min(16, "KEYWARD_ALERT_WEBHOOK_SECRET must be at least 16 characters (generate one with: openssl rand -base64 32)").optional(),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env["NODE_ENV"];
  production: boolean;
  port: number;
  host: string;
  database: { kind: "postgres"; url: string; statementTimeoutMs: number } | { kind: "pglite"; dataDir: string };
  dataDir: string;
  digestSecrets: { current: { version: number; secret: Buffer }; previous: { version: number; secret: Buffer }[] };
  encryptionKey: Buffer;
  origin?: string;
  maxKeyTtlDays?: number;
  trustProxy: number;
  logLevel: Env["KEYWARD_LOG_LEVEL"];
  verificationCache: { ttlSeconds: number; maxEntries: number };
  benchKeyId?: string;
  redisUrl?: string;
  rateLimits: { defaultLimit: RateLimit; failedAuth: RateLimit; maxTrpcBatch: number; redisTimeoutMs: number };
  /** The loosest rate limit a key may be given (see rateLimitWithin); unset = no bound beyond the schema's. */
  maxRateLimit?: RateLimit;
  usage: { flushIntervalMs: number; requestLogRetentionDays: number };
  /** Live event streams, counted per instance: most open at once per key or user, and the age at which each is ended. */
  eventStreams: { maxOpen: number; maxAgeSeconds: number };
  /** Days the audit trail is kept; undefined keeps it forever. */
  auditRetentionDays?: number;
  /** Where alerts are POSTed, and the secret they are signed with; unset = dashboard only. */
  alertWebhook?: { url: string; secret: string };
  /** Prometheus metrics: off, on the main port, or on a port of their own; optionally behind a bearer token. */
  metrics: { enabled: boolean; port?: number; token?: string };
  /** What the environment did that still works but should change (an old variable name); logged at start. */
  warnings: string[];
}

/** Variables renamed to the KEYWARD_ prefix: the old name still works, with a warning at start. */
export const RENAMED_VARIABLES = {
  TRUST_PROXY: "KEYWARD_TRUST_PROXY",
  LOG_LEVEL: "KEYWARD_LOG_LEVEL",
  ALERT_WEBHOOK_URL: "KEYWARD_ALERT_WEBHOOK_URL",
  ALERT_WEBHOOK_SECRET: "KEYWARD_ALERT_WEBHOOK_SECRET",
} as const;

/** Variables that hold secrets: each may instead be read from the file `NAME_FILE` names (container platforms' secrets), and is masked when the configuration is shown. */
export const SECRET_VARIABLES = ["KEYWARD_SECRET", "KEYWARD_ENCRYPTION_KEY", "KEYWARD_PREVIOUS_SECRETS", "DATABASE_URL", "REDIS_URL", "KEYWARD_ALERT_WEBHOOK_SECRET", "KEYWARD_METRICS_TOKEN"] as const;

/**
 * The environment as the schema reads it: old names mapped to new ones (a warning each; the new name
 * wins when both are set), and every secret given as `NAME_FILE` read from that file (its trailing
 * line break dropped). Setting both NAME and NAME_FILE, or naming an unreadable file, is a problem.
 */
export function resolveEnvironment(source: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; warnings: string[]; problems: string[] } {
  const env: NodeJS.ProcessEnv = { ...source };
  const warnings: string[] = [];
  const problems: string[] = [];
  for (const [old, current] of Object.entries(RENAMED_VARIABLES)) {
    for (const suffix of ["", "_FILE"]) {
      const value = source[old + suffix];
      if (value === undefined) continue;
      if (source[current + suffix] === undefined) {
        env[current + suffix] = value;
        warnings.push(`${old + suffix} is deprecated: set ${current + suffix} instead (the old name still works for now)`);
      } else {
        warnings.push(`${old + suffix} is ignored: ${current + suffix} is set`);
      }
      delete env[old + suffix];
    }
  }
  for (const name of SECRET_VARIABLES) {
    const file = env[`${name}_FILE`];
    if (file === undefined) continue;
    delete env[`${name}_FILE`];
    if (env[name] !== undefined) {
      problems.push(`${name} and ${name}_FILE are both set: keep one`);
      continue;
    }
    try {
      env[name] = fs.readFileSync(file, "utf8").replace(/\r?\n$/, "");
    } catch (error) {
      problems.push(`${name}_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    }
  }
  return { env, warnings, problems };
}

export class ConfigError extends Error {
  constructor(problems: string[]) {
    super(`Keyward cannot start; fix the environment:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Reads and checks the environment once. On the embedded default, missing secrets are
 * generated into the data directory and reused; with NODE_ENV=production they must be given.
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env, options: { dryRun?: boolean } = {}): Config {
  const resolved = resolveEnvironment(source);
  if (resolved.problems.length > 0) throw new ConfigError(resolved.problems);
  const parsed = envSchema.safeParse(resolved.env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".") || "environment"}: ${issue.message}`));
  }
  const env = parsed.data;
  if (env.KEYWARD_MAX_RATE_LIMIT && !rateLimitWithin(env.KEYWARD_DEFAULT_RATE_LIMIT, env.KEYWARD_MAX_RATE_LIMIT)) {
    throw new ConfigError(["KEYWARD_DEFAULT_RATE_LIMIT must not be looser than KEYWARD_MAX_RATE_LIMIT (no more requests per window, nor per second)"]);
  }
  const production = env.NODE_ENV === "production";
  const dataDir = path.resolve(env.KEYWARD_DATA_DIR);

  const required: SecretName[] = ["KEYWARD_SECRET", "KEYWARD_ENCRYPTION_KEY", ...(env.KEYWARD_ALERT_WEBHOOK_URL ? (["ALERT_WEBHOOK_SECRET"] as const) : [])];
  // secrets.json keeps the webhook secret under its first name, so existing data directories keep theirs.
  const missing = required.filter((name) => !env[name === "ALERT_WEBHOOK_SECRET" ? "KEYWARD_ALERT_WEBHOOK_SECRET" : name]);
  if (production && missing.length > 0) {
    throw new ConfigError(
      missing.map((name) =>
        name === "ALERT_WEBHOOK_SECRET"
          ? "KEYWARD_ALERT_WEBHOOK_SECRET is required when NODE_ENV=production and KEYWARD_ALERT_WEBHOOK_URL is set (generate one with: openssl rand -base64 32)"
          : `${name} is required when NODE_ENV=production (generate one with: openssl rand -base64 32)`,
      ),
    );
  }
  // A dry run (keyward config check) writes nothing: secrets it would generate are made up in memory.
  const generated =
    missing.length === 0 ? undefined : options.dryRun ? Object.fromEntries(missing.map((name) => [name, generateSecret()])) : readOrCreateSecrets(dataDir, missing);
  const secret = env.KEYWARD_SECRET ?? generated!.KEYWARD_SECRET!;
  const encryptionKey = env.KEYWARD_ENCRYPTION_KEY ?? generated!.KEYWARD_ENCRYPTION_KEY!;

  return {
    env: env.NODE_ENV,
    production,
    port: env.PORT,
    host: env.HOST,
    database: env.DATABASE_URL
      ? { kind: "postgres", url: env.DATABASE_URL, statementTimeoutMs: env.KEYWARD_STATEMENT_TIMEOUT_MS }
      : { kind: "pglite", dataDir: path.join(dataDir, "pglite") },
    dataDir,
    digestSecrets: {
      current: { version: env.KEYWARD_SECRET_VERSION, secret: Buffer.from(secret, "base64") },
      previous: env.KEYWARD_PREVIOUS_SECRETS.map(({ version, secret: s }) => ({ version, secret: Buffer.from(s, "base64") })),
    },
    encryptionKey: Buffer.from(encryptionKey, "base64"),
    origin: env.KEYWARD_ORIGIN ? new URL(env.KEYWARD_ORIGIN).origin : undefined,
    maxKeyTtlDays: env.KEYWARD_MAX_KEY_TTL_DAYS,
    trustProxy: env.KEYWARD_TRUST_PROXY,
    logLevel: env.KEYWARD_LOG_LEVEL,
    verificationCache: { ttlSeconds: env.KEYWARD_VERIFY_CACHE_TTL_SECONDS, maxEntries: env.KEYWARD_VERIFY_CACHE_SIZE },
    benchKeyId: env.KEYWARD_BENCH_KEY_ID,
    redisUrl: env.REDIS_URL,
    rateLimits: { defaultLimit: env.KEYWARD_DEFAULT_RATE_LIMIT, failedAuth: env.KEYWARD_FAILED_AUTH_LIMIT, maxTrpcBatch: env.KEYWARD_MAX_TRPC_BATCH, redisTimeoutMs: env.KEYWARD_REDIS_TIMEOUT_MS },
    maxRateLimit: env.KEYWARD_MAX_RATE_LIMIT,
    usage: { flushIntervalMs: env.KEYWARD_USAGE_FLUSH_MS, requestLogRetentionDays: env.KEYWARD_REQUEST_LOG_RETENTION_DAYS },
    eventStreams: { maxOpen: env.KEYWARD_MAX_EVENT_STREAMS, maxAgeSeconds: env.KEYWARD_EVENT_STREAM_MAX_AGE_SECONDS },
    auditRetentionDays: env.KEYWARD_AUDIT_RETENTION_DAYS,
    alertWebhook: env.KEYWARD_ALERT_WEBHOOK_URL ? { url: env.KEYWARD_ALERT_WEBHOOK_URL, secret: env.KEYWARD_ALERT_WEBHOOK_SECRET ?? generated!.ALERT_WEBHOOK_SECRET! } : undefined,
    metrics: { enabled: env.KEYWARD_METRICS === "1" || env.KEYWARD_METRICS_PORT !== undefined, port: env.KEYWARD_METRICS_PORT, token: env.KEYWARD_METRICS_TOKEN },
    warnings: resolved.warnings,
  };
}

/** One variable as `keyward config check` shows it: secrets masked, URLs' passwords masked. */
export interface ConfigLine {
  name: string;
  value: string;
  /** Where the value came from. */
  source: "environment" | "file" | "default" | "unset" | "renamed";
}

/**
 * The effective configuration, variable by variable, for a person to read (`keyward config check`):
 * never a secret's value (only whether it is set, and from where), the problems that stop Keyward
 * from starting, and the warnings it would log.
 */
export function describeConfiguration(source: NodeJS.ProcessEnv = process.env): { lines: ConfigLine[]; problems: string[]; warnings: string[] } {
  const resolved = resolveEnvironment(source);
  const problems = [...resolved.problems];
  const parsed = envSchema.safeParse(resolved.env);
  if (!parsed.success) problems.push(...parsed.error.issues.map((issue) => `${issue.path.join(".") || "environment"}: ${issue.message}`));
  else if (problems.length === 0) {
    try {
      loadConfig(source, { dryRun: true });
    } catch (error) {
      if (error instanceof ConfigError) problems.push(...error.message.split("\n").slice(1).map((line) => line.replace(/^\s*- /, "")));
      else throw error;
    }
  }
  const secrets: readonly string[] = SECRET_VARIABLES;
  const renamedTo = new Set<string>(Object.entries(RENAMED_VARIABLES).filter(([old, current]) => source[old] !== undefined && source[current] === undefined).map(([, current]) => current));
  const lines = Object.keys(envSchema.shape).map((name): ConfigLine => {
    const given = resolved.env[name];
    const fromFile = source[`${name}_FILE`] !== undefined && source[name] === undefined;
    const sourceOf: ConfigLine["source"] = given === undefined ? "unset" : fromFile ? "file" : renamedTo.has(name) ? "renamed" : "environment";
    if (given !== undefined && secrets.includes(name)) {
      const shown = /^(postgres(ql)?|rediss?):\/\//.test(given) ? maskPassword(given) : "set (hidden)";
      return { name, value: fromFile ? `${shown}, from ${source[`${name}_FILE`]}` : shown, source: sourceOf };
    }
    if (given !== undefined) return { name, value: given, source: sourceOf };
    const fallback = parsed.success ? (parsed.data as Record<string, unknown>)[name] : undefined;
    return fallback === undefined ? { name, value: "unset", source: "unset" } : { name, value: typeof fallback === "object" ? JSON.stringify(fallback) : String(fallback), source: "default" };
  });
  return { lines, problems, warnings: resolved.warnings };
}

function maskPassword(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = "*****";
    return url.toString();
  } catch {
    return "set (hidden)";
  }
}

type SecretName = "KEYWARD_SECRET" | "KEYWARD_ENCRYPTION_KEY" | "ALERT_WEBHOOK_SECRET";
type GeneratedSecrets = Partial<Record<SecretName, string>>;

const generateSecret = () => crypto.randomBytes(32).toString("base64");

/**
 * The generated secrets of the embedded default, kept in the data directory. A secret first needed
 * later (the webhook's, once ALERT_WEBHOOK_URL is set) is added to the existing file.
 */
function readOrCreateSecrets(dataDir: string, needed: SecretName[]): GeneratedSecrets {
  const file = path.join(dataDir, "secrets.json");
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dataDir, { recursive: true });
    const secrets: GeneratedSecrets = Object.fromEntries(
      (["KEYWARD_SECRET", "KEYWARD_ENCRYPTION_KEY", ...needed] as const).map((name) => [name, generateSecret()]),
    );
    try {
      fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { flag: "wx", mode: 0o600 });
      return secrets;
    } catch (error) {
      // Another process created it first: use theirs, so both agree.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  const stored = JSON.parse(fs.readFileSync(file, "utf8")) as GeneratedSecrets;
  const absent = needed.filter((name) => !stored[name]);
  if (absent.length === 0) return stored;
  const updated = { ...stored, ...Object.fromEntries(absent.map((name) => [name, generateSecret()])) };
  // Write then rename: a reader never sees half a file.
  const partial = `${file}.${process.pid}.partial`;
  fs.writeFileSync(partial, JSON.stringify(updated, null, 2), { mode: 0o600 });
  fs.renameSync(partial, file);
  return updated;
}
