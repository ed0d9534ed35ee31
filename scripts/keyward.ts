// The `keyward` command line (bin/keyward.js runs this, or its build in build/cli.js).
import { main } from "./lib/keyward-cli";

await main(process.argv.slice(2));
