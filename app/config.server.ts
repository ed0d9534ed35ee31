import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";

const base64Key = (name: string) =>
  z
    .string()
    .trim()
    .refine((value) => Buffer.from(value, "base64").length === 32, {
      message: `${name} must be 32 random bytes in base64 (generate one with: openssl rand -base64 32)`,
    });

const positiveInt = z.coerce.number().int().positive();

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
  /** How many proxy hops to trust in X-Forwarded-For (0 = ignore forwarded headers). */
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "silent"]).default("info"),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env["NODE_ENV"];
  production: boolean;
  port: number;
  host: string;
  database: { kind: "postgres"; url: string } | { kind: "pglite"; dataDir: string };
  dataDir: string;
  digestSecrets: { current: { version: number; secret: Buffer }; previous: { version: number; secret: Buffer }[] };
  encryptionKey: Buffer;
  origin?: string;
  maxKeyTtlDays?: number;
  trustProxy: number;
  logLevel: Env["LOG_LEVEL"];
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
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".") || "environment"}: ${issue.message}`));
  }
  const env = parsed.data;
  const production = env.NODE_ENV === "production";
  const dataDir = path.resolve(env.KEYWARD_DATA_DIR);

  const missing = (["KEYWARD_SECRET", "KEYWARD_ENCRYPTION_KEY"] as const).filter((name) => !env[name]);
  if (production && missing.length > 0) {
    throw new ConfigError(
      missing.map((name) => `${name} is required when NODE_ENV=production (generate one with: openssl rand -base64 32)`),
    );
  }
  const generated = missing.length > 0 ? readOrCreateSecrets(dataDir) : undefined;
  const secret = env.KEYWARD_SECRET ?? generated!.KEYWARD_SECRET;
  const encryptionKey = env.KEYWARD_ENCRYPTION_KEY ?? generated!.KEYWARD_ENCRYPTION_KEY;

  return {
    env: env.NODE_ENV,
    production,
    port: env.PORT,
    host: env.HOST,
    database: env.DATABASE_URL
      ? { kind: "postgres", url: env.DATABASE_URL }
      : { kind: "pglite", dataDir: path.join(dataDir, "pglite") },
    dataDir,
    digestSecrets: {
      current: { version: env.KEYWARD_SECRET_VERSION, secret: Buffer.from(secret, "base64") },
      previous: env.KEYWARD_PREVIOUS_SECRETS.map(({ version, secret: s }) => ({ version, secret: Buffer.from(s, "base64") })),
    },
    encryptionKey: Buffer.from(encryptionKey, "base64"),
    origin: env.KEYWARD_ORIGIN ? new URL(env.KEYWARD_ORIGIN).origin : undefined,
    maxKeyTtlDays: env.KEYWARD_MAX_KEY_TTL_DAYS,
    trustProxy: env.TRUST_PROXY,
    logLevel: env.LOG_LEVEL,
  };
}

type GeneratedSecrets = { KEYWARD_SECRET: string; KEYWARD_ENCRYPTION_KEY: string };

function readOrCreateSecrets(dataDir: string): GeneratedSecrets {
  const file = path.join(dataDir, "secrets.json");
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8")) as GeneratedSecrets;
  fs.mkdirSync(dataDir, { recursive: true });
  const secrets: GeneratedSecrets = {
    KEYWARD_SECRET: crypto.randomBytes(32).toString("base64"),
    KEYWARD_ENCRYPTION_KEY: crypto.randomBytes(32).toString("base64"),
  };
  try {
    fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { flag: "wx", mode: 0o600 });
    return secrets;
  } catch (error) {
    // Another process created it first: use theirs, so both agree.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return JSON.parse(fs.readFileSync(file, "utf8")) as GeneratedSecrets;
    throw error;
  }
}
