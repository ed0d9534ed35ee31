// Bundles the HTTP entry (app/server/main.ts) into build/server.js, and the `keyward` command line
// (scripts/keyward.ts) into build/cli.js for installs without tsx; npm packages stay external.
import { build } from "esbuild";

const common = { bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", sourcemap: true, logLevel: "warning" };

await build({ ...common, entryPoints: ["app/server/main.ts"], outfile: "build/server.js" });
await build({ ...common, entryPoints: ["scripts/keyward.ts"], outfile: "build/cli.js" });
