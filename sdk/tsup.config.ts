import { defineConfig } from "tsup";

/**
 * ESM + CJS + declarations. Dependencies stay external (tsup's default for `dependencies`);
 * the router's types come from src/generated/router.ts, so the declarations need nothing from the app.
 */
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  platform: "neutral",
  target: "es2022",
  sourcemap: true,
  clean: true,
  treeshake: true,
  tsconfig: "tsconfig.build.json",
});
