import fs from "node:fs";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts", "app/**/*.test.ts", "sdk/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers only queue on the CPU and slow the Postgres runs.
    maxWorkers: 2,
    // Every log line of the run goes to one file (set up here), and the run fails if it holds a key, password or session.
    globalSetup: ["tests/support/log-capture.ts"],
    // What tests print is output too: it joins that file, and the scan. Printed as usual as well.
    onConsoleLog(text, stream) {
      const file = process.env.KEYWARD_LOG_FILE;
      if (file) fs.appendFileSync(file, `${JSON.stringify({ source: "test-console", stream, text })}\n`);
    },
  },
});
