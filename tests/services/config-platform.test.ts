import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, describeConfiguration, loadConfig } from "../../app/config.server";
import { logLevelFrom } from "../../app/lib/logger.server";
import { serverSecrets } from "../support/secrets";

/** Configuration the way container platforms give it: secrets in files, one naming scheme. */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-config-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A fresh 32-byte base64 secret, registered with the run's leak scan. */
const secret = () => serverSecrets().KEYWARD_SECRET;
const file = (name: string, content: string) => {
  const at = path.join(dir, name);
  fs.writeFileSync(at, content);
  return at;
};
const production = () => ({ NODE_ENV: "production" as const, KEYWARD_DATA_DIR: dir });

describe("secrets from NAME_FILE", () => {
  it("reads each secret from the file its _FILE variable names, without the trailing line break", () => {
    const [digest, encryption] = [secret(), secret()];
    const config = loadConfig({
      ...production(),
      KEYWARD_SECRET_FILE: file("secret", `${digest}\n`),
      KEYWARD_ENCRYPTION_KEY_FILE: file("encryption", `${encryption}\r\n`),
      DATABASE_URL_FILE: file("database", "postgres://keyward:pw@db.internal:5432/keyward\n"),
      REDIS_URL_FILE: file("redis", "redis://cache.internal:6379"),
    });
    expect(config.digestSecrets.current.secret).toEqual(Buffer.from(digest, "base64"));
    expect(config.encryptionKey).toEqual(Buffer.from(encryption, "base64"));
    expect(config.database).toMatchObject({ kind: "postgres", url: "postgres://keyward:pw@db.internal:5432/keyward" });
    expect(config.redisUrl).toBe("redis://cache.internal:6379");
  });

  it("refuses a secret given both ways, and a file it cannot read, naming the variable", () => {
    const both = { ...production(), KEYWARD_SECRET: secret(), KEYWARD_SECRET_FILE: file("both", secret()), KEYWARD_ENCRYPTION_KEY: secret() };
    expect(() => loadConfig(both)).toThrow(ConfigError);
    expect(() => loadConfig(both)).toThrow(/KEYWARD_SECRET and KEYWARD_SECRET_FILE are both set/);
    const missing = { ...production(), KEYWARD_SECRET_FILE: path.join(dir, "absent"), KEYWARD_ENCRYPTION_KEY: secret() };
    expect(() => loadConfig(missing)).toThrow(/KEYWARD_SECRET_FILE: cannot read .*absent \(ENOENT\)/);
  });

  it("checks a secret read from a file like one given directly", () => {
    expect(() => loadConfig({ ...production(), KEYWARD_SECRET_FILE: file("short", "too short\n"), KEYWARD_ENCRYPTION_KEY: secret() })).toThrow(/KEYWARD_SECRET must be 32 random bytes/);
  });
});

describe("KEYWARD_ names", () => {
  const secrets = () => ({ KEYWARD_SECRET: secret(), KEYWARD_ENCRYPTION_KEY: secret() });

  it("reads the new names", () => {
    const config = loadConfig({ ...production(), ...secrets(), KEYWARD_TRUST_PROXY: "2", KEYWARD_LOG_LEVEL: "warn", KEYWARD_ALERT_WEBHOOK_URL: "https://hooks.example.test/k", KEYWARD_ALERT_WEBHOOK_SECRET: "a webhook secret of sixteen+" });
    expect(config).toMatchObject({ trustProxy: 2, logLevel: "warn", alertWebhook: { url: "https://hooks.example.test/k", secret: "a webhook secret of sixteen+" } });
    expect(config.warnings).toEqual([]);
  });

  it("still accepts the old names, with a deprecation warning each", () => {
    const config = loadConfig({ ...production(), ...secrets(), TRUST_PROXY: "1", LOG_LEVEL: "error", ALERT_WEBHOOK_URL: "https://hooks.example.test/k", ALERT_WEBHOOK_SECRET: "a webhook secret of sixteen+" });
    expect(config).toMatchObject({ trustProxy: 1, logLevel: "error", alertWebhook: { url: "https://hooks.example.test/k" } });
    expect(config.warnings).toEqual([
      "TRUST_PROXY is deprecated: set KEYWARD_TRUST_PROXY instead (the old name still works for now)",
      "LOG_LEVEL is deprecated: set KEYWARD_LOG_LEVEL instead (the old name still works for now)",
      "ALERT_WEBHOOK_URL is deprecated: set KEYWARD_ALERT_WEBHOOK_URL instead (the old name still works for now)",
      "ALERT_WEBHOOK_SECRET is deprecated: set KEYWARD_ALERT_WEBHOOK_SECRET instead (the old name still works for now)",
    ]);
  });

  it("prefers the new name when both are set, and says the old one is ignored", () => {
    const config = loadConfig({ ...production(), ...secrets(), TRUST_PROXY: "1", KEYWARD_TRUST_PROXY: "3" });
    expect(config.trustProxy).toBe(3);
    expect(config.warnings).toEqual(["TRUST_PROXY is ignored: KEYWARD_TRUST_PROXY is set"]);
  });

  it("takes the old webhook secret's name from a file too", () => {
    const config = loadConfig({ ...production(), ...secrets(), KEYWARD_ALERT_WEBHOOK_URL: "https://hooks.example.test/k", ALERT_WEBHOOK_SECRET_FILE: file("hook", "a webhook secret from a file\n") });
    expect(config.alertWebhook?.secret).toBe("a webhook secret from a file");
  });

  it("the logger's level follows KEYWARD_LOG_LEVEL first, then LOG_LEVEL", () => {
    expect(logLevelFrom({ KEYWARD_LOG_LEVEL: "warn", LOG_LEVEL: "debug" })).toBe("warn");
    expect(logLevelFrom({ LOG_LEVEL: "debug" })).toBe("debug");
  });
});

describe("the effective configuration (keyward config check)", () => {
  it("shows every variable and where it came from, never a secret's value", () => {
    const digest = secret();
    const { lines, problems, warnings } = describeConfiguration({
      ...production(),
      KEYWARD_SECRET_FILE: file("shown", digest),
      KEYWARD_ENCRYPTION_KEY: secret(),
      DATABASE_URL: "postgres://keyward:hunter2-db-password@db.internal/keyward",
      LOG_LEVEL: "warn",
    });
    expect(problems).toEqual([]);
    expect(warnings).toHaveLength(1);
    const line = (name: string) => lines.find((l) => l.name === name);
    expect(line("KEYWARD_SECRET")).toMatchObject({ source: "file", value: expect.stringMatching(/^set \(hidden\), from /) });
    expect(line("KEYWARD_ENCRYPTION_KEY")).toEqual({ name: "KEYWARD_ENCRYPTION_KEY", value: "set (hidden)", source: "environment" });
    expect(line("DATABASE_URL")?.value).toBe("postgres://keyward:*****@db.internal/keyward");
    expect(line("KEYWARD_LOG_LEVEL")).toMatchObject({ value: "warn", source: "renamed" });
    expect(line("KEYWARD_TRUST_PROXY")).toMatchObject({ value: "0", source: "default" });
    expect(line("REDIS_URL")).toMatchObject({ source: "unset" });
    expect(JSON.stringify(lines)).not.toContain(digest);
    expect(JSON.stringify(lines)).not.toContain("hunter2-db-password");
  });

  it("lists the problems that would stop Keyward, and writes nothing", () => {
    const empty = fs.mkdtempSync(path.join(dir, "check-"));
    const { problems } = describeConfiguration({ NODE_ENV: "production", KEYWARD_DATA_DIR: empty, KEYWARD_TRUST_PROXY: "99" });
    expect(problems.some((p) => p.startsWith("KEYWARD_TRUST_PROXY"))).toBe(true);
    const missing = describeConfiguration({ NODE_ENV: "production", KEYWARD_DATA_DIR: empty });
    expect(missing.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^KEYWARD_SECRET is required/)]));
    // Development generates secrets on start; the check does not.
    expect(describeConfiguration({ NODE_ENV: "development", KEYWARD_DATA_DIR: empty }).problems).toEqual([]);
    expect(fs.readdirSync(empty)).toEqual([]);
  });
});
