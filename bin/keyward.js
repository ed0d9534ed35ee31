#!/usr/bin/env node
// The `keyward` command (package.json "bin"): `npx keyward …` in the repository, `keyward …` after
// `npm install -g`. In a checkout with its dev dependencies the TypeScript source runs through tsx,
// so the command is always the code you have; where tsx is absent (a production install with
// --omit=dev) it runs build/cli.js, which `npm run build` bundles. See docs/decisions/0024-keyward-command-line.md.
import fs from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const source = fileURLToPath(new URL("../scripts/keyward.ts", import.meta.url));
const built = fileURLToPath(new URL("../build/cli.js", import.meta.url));

function tsxApi() {
  if (process.env.KEYWARD_CLI_BUILD === "1" || !fs.existsSync(source)) return null;
  try {
    return createRequire(import.meta.url).resolve("tsx/esm/api") && "tsx/esm/api";
  } catch {
    return null;
  }
}

const api = tsxApi();
if (api) {
  const { register } = await import(api);
  register();
  await import(pathToFileURL(source).href);
} else if (fs.existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  process.stderr.write('error: keyward is not built: run "npm run build" (or install the dev dependencies to run it from source)\n');
  process.exitCode = 1;
}
