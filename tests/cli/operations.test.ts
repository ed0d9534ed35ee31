import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runKeyward } from "./run-cli";
import { serverSecrets } from "../support/secrets";

/**
 * `keyward config check` and `keyward db backup|restore`, run as a user runs them. These are about
 * the embedded database and the environment, so they set their own (no DATABASE_URL).
 */
const root = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-ops-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const secrets = serverSecrets();
const embedded = (dataDir: string) => ({ NODE_ENV: "test", KEYWARD_DATA_DIR: dataDir, ...secrets, DATABASE_URL: undefined, REDIS_URL: undefined });

describe("keyward config check", () => {
  it("prints every variable with secrets hidden, and exits 0 on a configuration that would start", async () => {
    const result = await runKeyward(["config", "check"], { ...embedded(path.join(root, "cfg")), LOG_LEVEL: "warn" });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^KEYWARD_SECRET +set \(hidden\) +\(environment\)$/m);
    expect(result.stdout).toMatch(/^KEYWARD_LOG_LEVEL +warn +\(renamed\)$/m);
    expect(result.stderr).toContain("LOG_LEVEL is deprecated: set KEYWARD_LOG_LEVEL instead");
    expect(result.stdout + result.stderr).not.toContain(secrets.KEYWARD_SECRET);
    expect(fs.existsSync(path.join(root, "cfg"))).toBe(false);
  });

  it("exits 1 and lists the problems, as JSON too", async () => {
    const result = await runKeyward(["config", "check", "--json"], { NODE_ENV: "production", KEYWARD_DATA_DIR: path.join(root, "prod"), KEYWARD_TRUST_PROXY: "99", DATABASE_URL: undefined });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { problems: string[]; variables: { name: string }[] };
    expect(report.problems.some((problem) => problem.startsWith("KEYWARD_TRUST_PROXY"))).toBe(true);
    expect(report.variables.map((v) => v.name)).toContain("KEYWARD_SECRET");
    expect(result.stderr).toMatch(/problem/);
  });
});

// Embedded database only: the Postgres + Redis run of the suite skips it.
describe.skipIf(Boolean(process.env.DATABASE_URL))("keyward db backup and restore", () => {
  it("backs up a stopped embedded instance and restores it into a new data directory where its keys are", async () => {
    const original = path.join(root, "original");
    const owner = await runKeyward(["users", "create", "--email", "ops@example.test", "--role", "admin", "--password", "correct horse battery staple"], embedded(original));
    expect(owner.code, owner.stderr).toBe(0);
    const key = await runKeyward(["keys", "create", "--name", "before the backup", "--owner", "ops@example.test", "--scopes", "read", "--json"], embedded(original));
    expect(key.code, key.stderr).toBe(0);
    const { id } = JSON.parse(key.stdout) as { id: string };

    const file = path.join(root, "keyward.tgz");
    const backup = await runKeyward(["db", "backup", "--out", file, "--json"], embedded(original));
    expect(backup.code, backup.stderr).toBe(0);
    expect(JSON.parse(backup.stdout)).toMatchObject({ file, bytes: expect.any(Number) });
    expect((await runKeyward(["db", "backup", "--out", file], embedded(original))).code).toBe(1);

    const restored = path.join(root, "restored");
    const restore = await runKeyward(["db", "restore", file], embedded(restored));
    expect(restore.code, restore.stderr).toBe(0);
    const shown = await runKeyward(["keys", "show", id, "--json"], embedded(restored));
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id, name: "before the backup" });
  }, 180_000);

  it("refuses on PostgreSQL, pointing at pg_dump, and refuses remote mode", async () => {
    const onPostgres = await runKeyward(["db", "backup", "--out", path.join(root, "x.tgz")], { ...embedded(path.join(root, "pg")), DATABASE_URL: "postgres://postgres@127.0.0.1:5432/postgres" });
    expect(onPostgres.code).toBe(1);
    expect(onPostgres.stderr).toContain("pg_dump");
    const remote = await runKeyward(["db", "backup", "--out", path.join(root, "y.tgz")], { ...embedded(path.join(root, "r")), KEYWARD_URL: "http://127.0.0.1:9", KEYWARD_API_KEY: "kw_x" });
    expect(remote.code).toBe(2);
  });
});
