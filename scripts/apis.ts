// `npm run apis -- …`: an alias of `keyward apis …` (scripts/lib/commands/apis.ts), remote mode included.
import { main } from "./lib/keyward-cli";

await main(process.argv.slice(2), { group: "apis", name: "npm run apis --" });
