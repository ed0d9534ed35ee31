// Bundles the HTTP entry (app/server/main.ts) into build/server.js; npm packages stay external.
import { build } from "esbuild";

await build({
  entryPoints: ["app/server/main.ts"],
  outfile: "build/server.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
});
