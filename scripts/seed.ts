// `npm run db:seed`: the same command as `keyward db seed` (scripts/lib/commands/seed.ts).
import { runSingle } from "./lib/cli";
import { seed } from "./lib/commands/seed";

await runSingle("npm run db:seed --", seed);
