import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { CliError, integerOption, parseCommand, type Command } from "../cli";

export const serve: Command = {
  summary: "Run the Keyward server (the built app; same as npm start)",
  help: `Runs the production server from the build in ./build (make it with "npm run build"), with the
configuration in the environment (docs/configuration.md): DATABASE_URL or the embedded database under
KEYWARD_DATA_DIR, KEYWARD_SECRET, PORT… It migrates the database at start-up and stops gracefully on
SIGINT/SIGTERM. NODE_ENV defaults to production.

Usage: keyward serve [--port N]

Options:
  --port N    Listen on this port (default: PORT, else 3000)`,
  async run(argv) {
    const { values } = parseCommand(argv, serve, { port: { type: "string" } });
    const port = integerOption(values.port, "--port");
    const entry = path.resolve("build/server.js");
    if (!fs.existsSync(entry)) throw new CliError(`No build at ${entry}: run "npm run build" first (from the Keyward directory)`);
    if (port !== undefined) process.env.PORT = String(port);
    process.env.NODE_ENV ??= "production";
    // The server's own entry: it reads the config, listens, and owns the process from here on.
    await import(pathToFileURL(entry).href);
  },
};
