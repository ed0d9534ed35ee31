// `npm run db:migrate`: the same command as `keyward db migrate` (scripts/lib/commands/migrate.ts).
import { runSingle } from "./lib/cli";
import { migrate } from "./lib/commands/migrate";

await runSingle("npm run db:migrate --", migrate);
