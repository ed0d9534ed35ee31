import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts", "app/**/*.test.ts", "sdk/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers only queue on the CPU and slow the Postgres runs.
    maxWorkers: 2,
  },
});
