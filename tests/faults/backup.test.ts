import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackupError, backupEmbedded, restoreEmbedded } from "../../db/backup.server";
import { DataDirectoryLockedError } from "../../db/client.server";
import { systemActor } from "../../app/services/actor.server";
import { createKeyward, type Keyward } from "../../app/services/keyward.server";
import { serverSecrets } from "../support/secrets";
import { testConfig } from "../support/keyward";

/**
 * `keyward db backup|restore` on the embedded database: a seeded instance is backed up, restored
 * into a new directory, and a key issued before the backup verifies against the restored copy with
 * the same secrets. (PostgreSQL deployments back up with pg_dump; docs/operations.md.)
 */
const root = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-backup-"));
const secrets = serverSecrets();
const embedded = (dataDir: string) => testConfig({ ...secrets, KEYWARD_DATA_DIR: dataDir, DATABASE_URL: undefined, REDIS_URL: undefined });
const system = systemActor("test");
const original = path.join(root, "original");
/** Where the embedded database lives inside a data directory (KEYWARD_DATA_DIR). */
const pglite = (dataDir: string) => path.join(dataDir, "pglite");
const backup = path.join(root, "keyward.backup.tgz");
let issued: { key: string; apiId: string; keyId: string };

async function withKeyward<T>(dataDir: string, run: (keyward: Keyward) => Promise<T>): Promise<T> {
  const keyward = await createKeyward({ config: embedded(dataDir) });
  try {
    return await run(keyward);
  } finally {
    await keyward.close();
  }
}

beforeAll(async () => {
  if (process.env.DATABASE_URL) return;
  issued = await withKeyward(original, async (keyward) => {
    const owner = await keyward.users.create(system, { email: "backup@example.test", password: "correct horse battery staple", role: "admin" });
    const api = await keyward.apis.create(system, { name: "Payments", prefix: "pay" }, { ownerId: owner.id });
    const { key, apiKey } = await keyward.keys.createIssued(system, api.id, { name: "customer", permissions: [] });
    return { key, apiId: api.id, keyId: apiKey.id };
  });
}, 120_000);

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

// Embedded database only (PostgreSQL is backed up with pg_dump): the Postgres + Redis run of the suite skips it.
describe.skipIf(Boolean(process.env.DATABASE_URL))("the embedded database's backup", () => {
  it("refuses while another process holds the directory (the app running on it)", async () => {
    // A second process opens the database as the app does, and holds it until told to stop.
    const holder = spawn(process.execPath, ["--import", "tsx", "-e", `const { openDatabase } = await import(${JSON.stringify(path.resolve("db/client.server.ts"))}); const h = await openDatabase({ kind: "pglite", dataDir: ${JSON.stringify(pglite(original))} }); console.log("open"); process.stdin.once("data", async () => { await h.close(); process.exit(0); });`], { stdio: ["pipe", "pipe", "inherit"] });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.once("exit", (code) => reject(new Error(`holder exited ${code}`)));
        holder.stdout!.once("data", () => resolve());
      });
      const refused = backupEmbedded(pglite(original), path.join(root, "while-running.tgz"));
      await expect(refused).rejects.toBeInstanceOf(DataDirectoryLockedError);
      await expect(refused).rejects.toThrow(/already open in process/);
      expect(fs.existsSync(path.join(root, "while-running.tgz"))).toBe(false);
    } finally {
      const exited = new Promise((resolve) => holder.once("exit", resolve));
      holder.stdin!.write("stop\n");
      await exited;
    }
  }, 60_000);

  it("backs up a stopped instance, restores it into a new directory, and a key issued before verifies there", async () => {
    const { bytes } = await backupEmbedded(pglite(original), backup);
    expect(bytes).toBeGreaterThan(1000);
    expect(fs.statSync(backup).mode & 0o077).toBe(0);
    // The dump holds digests, never a plaintext key.
    expect(fs.readFileSync(backup).includes(Buffer.from(issued.key))).toBe(false);

    const restored = path.join(root, "restored");
    await restoreEmbedded(backup, pglite(restored));
    const verdict = await withKeyward(restored, (keyward) => keyward.verifier.verify(issued.key, { caller: system, apiId: issued.apiId }));
    expect(verdict).toMatchObject({ valid: true, code: "VALID", keyId: issued.keyId });
  });

  it("never overwrites: not an existing backup file, not a database directory", async () => {
    await expect(backupEmbedded(pglite(original), backup)).rejects.toThrow(/exists: choose a new file/);
    await expect(restoreEmbedded(backup, pglite(original))).rejects.toThrow(/is not empty: restore into a new directory/);
  });

  it("refuses what is not a backup, and a directory with no database", async () => {
    const junk = path.join(root, "junk.tgz");
    fs.writeFileSync(junk, "not a backup");
    await expect(restoreEmbedded(junk, path.join(root, "from-junk"))).rejects.toBeInstanceOf(BackupError);
    expect(fs.existsSync(path.join(root, "from-junk"))).toBe(false);
    await expect(backupEmbedded(path.join(root, "nothing"), path.join(root, "x.tgz"))).rejects.toThrow(/holds no embedded database/);
  });
});
