import { describeConfiguration } from "../../../app/config.server";
import { CliError, parseCommand, type Command, type Program } from "../cli";

const check: Command = {
  summary: "Print the effective configuration; exit 1 on a problem",
  help: `Reads the environment as the server would (old variable names, NAME_FILE secrets) and prints
every variable: its value (secrets only as "set (hidden)", URLs with their password masked) and where
it came from (environment, file, renamed, default, unset), then the warnings the server would log and
the problems that would stop it. Writes nothing (not even the embedded default's generated secrets).

Usage: keyward config check [--json]

Exit codes: 0 the configuration would start; 1 it has a problem (listed on stderr); 2 usage error.`,
  async run(argv) {
    const { values } = parseCommand(argv, check, { json: { type: "boolean" } });
    const { lines, problems, warnings } = describeConfiguration();
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ variables: lines, warnings, problems }, null, 2)}\n`);
    } else {
      const width = Math.max(...lines.map((line) => line.name.length));
      for (const line of lines) process.stdout.write(`${line.name.padEnd(width)}  ${line.value}${line.source === "default" || line.source === "unset" ? "" : `  (${line.source})`}\n`);
      for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
    }
    if (problems.length > 0) throw new CliError(`The configuration has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    if (!values.json) process.stdout.write("\nThe configuration is valid.\n");
  },
};

export const configProgram: Program = { name: "keyward config", summary: "The configuration (local).", commands: { check } };
