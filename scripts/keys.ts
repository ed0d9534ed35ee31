// `npm run keys -- …`: an alias of `keyward keys …` (scripts/lib/commands/keys.ts), remote mode included.
import { main } from "./lib/keyward-cli";

await main(process.argv.slice(2), { group: "keys", name: "npm run keys --" });
