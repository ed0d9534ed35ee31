import { parseArgs, type ParseArgsConfig } from "node:util";
import { ZodError, type ZodType } from "zod";
import { DataDirectoryLockedError } from "../../db/client.server";
import { ConfigError } from "../../app/config.server";
import { isKeywardError } from "../../app/services/errors.server";

/**
 * The operator CLIs share one contract: results on stdout, everything else on stderr;
 * exit 0 on success, 1 when Keyward refuses or fails, 2 when the command line itself is wrong.
 * Expected failures print their message only, never a stack trace.
 */

/** Something wrong with what was typed (unknown command or option, missing or malformed value): exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A refusal or failure of the command itself (not of Keyward's services): message only, exit 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

/** Thrown after `--help` printed its text, to stop the command with exit 0. */
class HelpShown extends Error {}

/**
 * How help texts name the commands. They are written as the `npm run` aliases invoke them
 * (`npm run keys -- create`); under `keyward` they read `keyward keys create`.
 */
let helpRewrite: (text: string) => string = (text) => text;

export function setHelpRewrite(rewrite: (text: string) => string): void {
  helpRewrite = rewrite;
}

export interface Command {
  /** One line for the program's command list. */
  summary: string;
  /** The full `--help` text of the command. */
  help: string;
  run(argv: string[]): Promise<void>;
}

export interface Program {
  /** How the program is invoked, e.g. `npm run keys --`. */
  name: string;
  summary: string;
  commands: Record<string, Command>;
}

/** Runs a program with subcommands (`users create …`) and turns every failure into its exit code. */
export async function runProgram(program: Program, argv = process.argv.slice(2)): Promise<void> {
  let invocation = program.name;
  await runGuarded(() => invocation, async () => {
    const [name, ...rest] = argv;
    if (name === undefined) throw new UsageError(`a command is required\n\n${helpRewrite(programHelp(program))}`);
    if (name === "--help" || name === "-h" || name === "help") {
      process.stdout.write(`${helpRewrite(programHelp(program))}\n`);
      return;
    }
    const command = Object.hasOwn(program.commands, name) ? program.commands[name] : undefined;
    if (!command) throw new UsageError(`unknown command "${name}" (commands: ${Object.keys(program.commands).join(", ")})`);
    invocation = `${program.name} ${name}`;
    await command.run(rest);
  });
}

/** Runs a single-command program (`db:seed`) with the same error handling; `name` as for `Program`. */
export async function runSingle(name: string, command: Command, argv = process.argv.slice(2)): Promise<void> {
  await runGuarded(() => name, () => command.run(argv));
}

function programHelp(program: Program): string {
  const width = Math.max(...Object.keys(program.commands).map((name) => name.length));
  const lines = Object.entries(program.commands).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return `${program.summary}\n\nUsage: ${program.name} <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nRun "${program.name} <command> --help" for a command's options.`;
}

/** `invocation` names what was run (e.g. `npm run keys -- create`), for the "--help" hint. */
async function runGuarded(invocation: () => string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    process.exitCode = report(invocation(), error);
  }
}

/** Prints the error the way an operator needs it and returns the exit code. */
function report(name: string, error: unknown): number {
  name = helpRewrite(name);
  if (error instanceof HelpShown) return 0;
  if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n`);
    if (!error.message.includes("Usage:")) process.stderr.write(`Run "${name} --help" for usage.\n`);
    return 2;
  }
  if (isParseArgsError(error)) {
    // Node appends advice about "--" that only confuses here.
    const message = error.message.replace(/\. To specify a positional argument[\s\S]*$/, "");
    process.stderr.write(`error: ${message}\nRun "${name} --help" for usage.\n`);
    return 2;
  }
  if (error instanceof ZodError) {
    process.stderr.write(`error: ${formatIssues(error)}\n`);
    return 2;
  }
  if (isKeywardError(error)) {
    process.stderr.write(`error: ${error.message} (${error.code})\n`);
    return 1;
  }
  if (error instanceof CliError || error instanceof ConfigError || error instanceof DataDirectoryLockedError) {
    process.stderr.write(`error: ${error.message}\n`);
    return 1;
  }
  // Not an expected failure: the stack is what a bug report needs.
  console.error(error);
  return 1;
}

function isParseArgsError(error: unknown): error is Error {
  const code: unknown = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}

function formatIssues(error: ZodError, flags: Record<string, string> = {}): string {
  return error.issues
    .map((issue) => {
      const [field, ...rest] = issue.path.map(String);
      // A scalar input has an empty path; flags[""] names it (e.g. KEY_ID).
      const label = field === undefined ? flags[""] : `${flags[field] ?? field}${rest.length > 0 ? `[${rest.join(".")}]` : ""}`;
      const where = label ? `${label}: ` : "";
      return `${where}${issue.message}`;
    })
    .join("; ");
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses a command's arguments strictly (unknown options are usage errors) and handles `--help`.
 * `positionals` names the positional arguments the command takes, all required.
 */
export function parseCommand<const T extends Options>(
  argv: string[],
  command: Pick<Command, "help">,
  options: T,
  positionals: readonly string[] = [],
) {
  const parsed = parseArgs({
    args: argv,
    options: { ...options, help: { type: "boolean", short: "h" } } as T & { help: { type: "boolean"; short: "h" } },
    strict: true,
    allowPositionals: true,
  });
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${helpRewrite(command.help)}\n`);
    throw new HelpShown();
  }
  if (parsed.positionals.length < positionals.length) {
    throw new UsageError(`missing ${positionals.slice(parsed.positionals.length).join(" ")}`);
  }
  if (parsed.positionals.length > positionals.length) {
    throw new UsageError(`unexpected argument "${parsed.positionals[positionals.length]}"`);
  }
  return parsed;
}

/** Demands an option's value, naming the flag when it is missing. */
export function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined || value === "") throw new UsageError(`${flag} is required`);
  return value;
}

/** An integer option's value, or a usage error naming the flag. */
export function integerOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${flag} must be a whole number, got "${value}"`);
  return Number(value);
}

/** `a,b, c` → ["a", "b", "c"]; empty entries are dropped. */
export function listOption(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(",").map((entry) => entry.trim()).filter(Boolean);
}

/**
 * Checks command-line input with the same zod schema the other edges use; problems become a usage
 * error that names the flags (`flags` maps schema fields to option names; `""` names a scalar input).
 */
export function parseInput<S extends ZodType>(schema: S, input: unknown, flags: Record<string, string>): ReturnType<S["parse"]> {
  const result = schema.safeParse(input);
  if (!result.success) throw new UsageError(formatIssues(result.error, flags));
  return result.data as ReturnType<S["parse"]>;
}

/** Reads standard input to the end (for `--password-stdin`), without its trailing newline. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

/** A named rate limit as the CLIs take and print it: `NAME=LIMIT/SECONDS`, the seconds optionally suffixed `s`. */
const NAMED_LIMIT = /^\s*([^=\s]+)\s*=\s*(\d+)\s*\/\s*(\d+)\s*s?\s*$/;

/**
 * Repeated `--ratelimit NAME=LIMIT/SECONDS` (e.g. `requests=10/1s`, `daily=10000/86400`) as named
 * limits; with `--clear-ratelimits`, none. Undefined when neither was given (nothing to change).
 * Names and ranges are the schemas' to check.
 */
export function namedLimitsOption(values: string[] | undefined, clear: boolean | undefined): { name: string; limit: number; durationSeconds: number }[] | undefined {
  if (clear && values?.length) throw new UsageError("give --ratelimit or --clear-ratelimits, not both");
  if (clear) return [];
  if (!values?.length) return undefined;
  return values.map((value) => {
    const match = NAMED_LIMIT.exec(value);
    if (!match) throw new UsageError(`--ratelimit must look like NAME=LIMIT/SECONDS (e.g. requests=10/1s or daily=10000/86400), got "${value}"`);
    return { name: match[1]!, limit: Number(match[2]), durationSeconds: Number(match[3]) };
  });
}
