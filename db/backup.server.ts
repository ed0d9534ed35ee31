import fs from "node:fs";
import path from "node:path";
import { lockDataDir, pgliteExtensions } from "./client.server";

/**
 * Backup and restore of the embedded database (PGlite), for `keyward db backup|restore`.
 *
 * A backup is PGlite's own dump of its data directory (a gzipped tarball of the cluster, taken by
 * the one process that holds the directory, so it is consistent). The app holds the directory's
 * lock while it runs, and two processes on one directory lose data (ADR 2), so a backup of a
 * directory in use is refused with DataDirectoryLockedError: stop the app first. The dump holds
 * keys' digests and ciphertexts, never plaintexts; it is useless without the secrets that made them
 * (KEYWARD_SECRET, KEYWARD_ENCRYPTION_KEY, or the data directory's secrets.json), which it does not
 * contain: keep them together, separately protected (docs/operations.md).
 */

/** First bytes of a gzip stream: a restore refuses anything else before touching the directory. */
const GZIP_MAGIC = [0x1f, 0x8b];

export interface BackupResult {
  file: string;
  bytes: number;
}

export class BackupError extends Error {
  readonly code = "backup_failed";
}

export async function backupEmbedded(dataDir: string, outFile: string): Promise<BackupResult> {
  if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) throw new BackupError(`${dataDir} holds no embedded database (no PG_VERSION): nothing to back up`);
  if (fs.existsSync(outFile)) throw new BackupError(`${outFile} exists: choose a new file (a backup never overwrites one)`);
  const release = lockDataDir(dataDir);
  try {
    const { PGlite } = await import("@electric-sql/pglite");
    const client = new PGlite({ dataDir, extensions: await pgliteExtensions() });
    try {
      await client.waitReady;
      // A checkpoint first, so the dump carries every committed change in the data files themselves.
      await client.query("checkpoint");
      const dump = await client.dumpDataDir("gzip");
      const bytes = Buffer.from(await dump.arrayBuffer());
      // Write then rename: a half-written backup never carries the final name.
      const partial = `${outFile}.${process.pid}.partial`;
      fs.writeFileSync(partial, bytes, { flag: "wx", mode: 0o600 });
      fs.renameSync(partial, outFile);
      return { file: outFile, bytes: bytes.length };
    } finally {
      await client.close();
    }
  } finally {
    release();
  }
}

export async function restoreEmbedded(backupFile: string, dataDir: string): Promise<void> {
  if (!fs.existsSync(backupFile)) throw new BackupError(`${backupFile} does not exist`);
  const bytes = fs.readFileSync(backupFile);
  if (bytes[0] !== GZIP_MAGIC[0] || bytes[1] !== GZIP_MAGIC[1]) throw new BackupError(`${backupFile} is not a Keyward embedded-database backup (not gzip)`);
  if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0) {
    throw new BackupError(`${dataDir} is not empty: restore into a new directory (a restore never overwrites a database)`);
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const release = lockDataDir(dataDir);
  try {
    const { PGlite } = await import("@electric-sql/pglite");
    const client = new PGlite({ dataDir, loadDataDir: new Blob([bytes]), extensions: await pgliteExtensions() });
    try {
      await client.waitReady;
      await client.query("select 1");
    } finally {
      await client.close();
    }
  } finally {
    release();
  }
}
