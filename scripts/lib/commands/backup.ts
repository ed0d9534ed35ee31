import path from "node:path";
import { loadConfig } from "../../../app/config.server";
import { BackupError, backupEmbedded, restoreEmbedded } from "../../../db/backup.server";
import { DataDirectoryLockedError } from "../../../db/client.server";
import { CliError, parseCommand, required, type Command } from "../cli";

/** The embedded database's directory, or a refusal naming what to use on PostgreSQL. */
function embeddedDirectory(): string {
  const config = loadConfig();
  if (config.database.kind !== "pglite") {
    throw new CliError("DATABASE_URL is set: back up PostgreSQL with pg_dump, restore with pg_restore (docs/operations.md)");
  }
  return config.database.dataDir;
}

/** Backup failures are the operator's to fix: said in one line, exit 1. */
function explained(error: unknown): never {
  if (error instanceof DataDirectoryLockedError) {
    throw new CliError(`${error.message}\nStop the app, run the backup, start it again (a backup needs the database to itself).`);
  }
  if (error instanceof BackupError) throw new CliError(error.message);
  throw error;
}

const backup: Command = {
  summary: "Back up the embedded database to a file",
  help: `Writes a backup of the embedded database (KEYWARD_DATA_DIR/pglite): PGlite's own dump, a
gzipped tarball, mode 0600, after a checkpoint. The app must be stopped (it holds the database);
the backup never overwrites a file. It holds key digests and ciphertexts, never a plaintext key,
and is useless without the secrets it was made with (KEYWARD_SECRET, KEYWARD_ENCRYPTION_KEY, or
KEYWARD_DATA_DIR/secrets.json): keep them together, stored apart (docs/operations.md).
On PostgreSQL use pg_dump.

Usage: keyward db backup --out FILE [--json]`,
  async run(argv) {
    const { values } = parseCommand(argv, backup, { out: { type: "string" }, json: { type: "boolean" } });
    const out = path.resolve(required(values.out, "--out"));
    const dataDir = embeddedDirectory();
    const result = await backupEmbedded(dataDir, out).catch(explained);
    if (values.json) process.stdout.write(`${JSON.stringify({ file: result.file, bytes: result.bytes, database: dataDir })}\n`);
    else process.stdout.write(`Backed up ${dataDir} to ${result.file} (${result.bytes} bytes). Keep the secrets with it.\n`);
  },
};

const restore: Command = {
  summary: "Restore the embedded database from a backup",
  help: `Restores a backup made by "keyward db backup" into the embedded database's directory
(KEYWARD_DATA_DIR/pglite), which must not exist or be empty: a restore never overwrites a database.
Put the matching secrets in place before starting the app (docs/operations.md).
On PostgreSQL use pg_restore.

Usage: keyward db restore FILE [--json]`,
  async run(argv) {
    const { values, positionals } = parseCommand(argv, restore, { json: { type: "boolean" } }, ["FILE"]);
    const file = path.resolve(positionals[0]!);
    const dataDir = embeddedDirectory();
    await restoreEmbedded(file, dataDir).catch(explained);
    if (values.json) process.stdout.write(`${JSON.stringify({ restored: file, database: dataDir })}\n`);
    else process.stdout.write(`Restored ${file} into ${dataDir}.\n`);
  },
};

export { backup, restore };
