import fs from "node:fs";
import path from "node:path";
import { loadConfig } from "../../../app/config.server";
import { migrationsPath } from "../../../db/client.server";
import { parseCommand, type Command } from "../cli";
import { describeDatabase, withKeyward } from "../keyward";

const migrate: Command = {
  summary: "Apply the committed database migrations",
  help: `Applies the committed migrations (db/migrations) to the database the environment names:
DATABASE_URL when set, otherwise the embedded PGlite database under KEYWARD_DATA_DIR.
Already applied migrations are skipped. The app also migrates at start-up.

Usage: npm run db:migrate`,
  async run(argv) {
    parseCommand(argv, migrate, {});
    const config = loadConfig();
    const target = describeDatabase(config);
    process.stderr.write(`Migrating the ${target}\n`);
    // Opening the container is what applies migrations, the same way the app does at start-up.
    await withKeyward(async () => {}, config);
    const journal = JSON.parse(fs.readFileSync(path.join(migrationsPath(), "meta", "_journal.json"), "utf8")) as { entries: { tag: string }[] };
    const latest = journal.entries.at(-1)?.tag ?? "none";
    process.stdout.write(`The ${target} is up to date (${journal.entries.length} migration(s), latest ${latest}).\n`);
  },
};

export { migrate };
