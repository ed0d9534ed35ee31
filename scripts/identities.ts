// `npm run identities -- …`: an alias of `keyward identities …` (scripts/lib/commands/identities.ts), remote mode included.
import { main } from "./lib/keyward-cli";

await main(process.argv.slice(2), { group: "identities", name: "npm run identities --" });
