// `npm run users -- …`: an alias of `keyward users …` (scripts/lib/commands/users.ts), remote mode included.
import { main } from "./lib/keyward-cli";

await main(process.argv.slice(2), { group: "users", name: "npm run users --" });
