import { runProgram, runSingle, setHelpRewrite, UsageError, type Command, type Program } from "./cli";
import { apisProgram } from "./commands/apis";
import { auditProgram } from "./commands/audit";
import { backup, restore } from "./commands/backup";
import { configProgram } from "./commands/config";
import { identitiesProgram } from "./commands/identities";
import { keysProgram } from "./commands/keys";
import { migrate } from "./commands/migrate";
import { seed } from "./commands/seed";
import { serve } from "./commands/serve";
import { usersProgram } from "./commands/users";
import { configureRemote, remoteTarget } from "./remote";

/**
 * `keyward`: one command line for everything an operator does. Groups of subcommands, each with
 * --help; local mode opens the database the environment names (as the app does), remote mode
 * (--url/--api-key or KEYWARD_URL/KEYWARD_API_KEY) talks to a running server's REST API.
 */

const dbProgram: Program = { name: "keyward db", summary: "The database itself (local mode only).", commands: { migrate, seed, backup, restore } };

interface Group {
  program?: Program;
  command?: Command;
  /** No REST equivalent: refused in remote mode (exit 2). */
  localOnly?: boolean;
}

const GROUPS: Record<string, Group> = {
  keys: { program: keysProgram },
  users: { program: usersProgram },
  audit: { program: auditProgram },
  apis: { program: apisProgram },
  identities: { program: identitiesProgram },
  db: { program: dbProgram, localOnly: true },
  config: { program: configProgram, localOnly: true },
  serve: { command: serve, localOnly: true },
};

const HELP = `keyward: manage a Keyward instance from the command line.

Usage: keyward [--url URL --api-key KEY] <group> <command> [options]

Groups:
  keys        create, list, show, update, enable, disable, revoke, rotate, reveal
  users       create, list, set-role, disable, enable, reset-password
  audit       tail, export
  apis        create, list, update
  identities  create, update, list, show, revoke-keys
  db          migrate, seed, backup, restore             (local mode only)
  config      check                                      (local mode only)
  serve       run the server                             (local mode only)

Run "keyward <group> --help" for a group's commands, "keyward <group> <command> --help" for
a command's options. Most commands take --json: results as JSON on stdout (create and rotate
print {"id", "key", …}); messages go to stderr.

Modes:
  local   (default) Opens the database the environment names, as the app does: DATABASE_URL,
          else the embedded database in KEYWARD_DATA_DIR (./.data). Acts as the system,
          recorded as "cli" in the audit log. The embedded database admits one process:
          while the app runs on it, use remote mode.
  remote  With KEYWARD_URL and KEYWARD_API_KEY (or --url URL --api-key KEY), talks to the
          running server's REST API with that root key, never opening a database. Acts as the
          key's owner, within the key's scopes (users and audit need the admin scope).

Exit codes:
  0   success
  1   the operation failed or was refused (not found, conflict, last admin, server error,
      server unreachable); the message (and in remote mode the problem's code) is on stderr
  2   usage error: unknown command or option, missing or malformed value, or a command
      that has no remote meaning (db, serve) run in remote mode

Documentation: docs/cli.md`;

/** `npm run keys -- …` → `keyward keys …` in help texts and hints. */
function keywardNames(text: string): string {
  return text
    .replace(/npm run (?:-s )?(keys|users|apis|identities) --/g, "keyward $1")
    .replace(/npm run db:(seed|migrate)(?: --)?/g, "keyward db $1");
}

/** Takes `--url`/`--api-key` (with a value, or `=value`) out of the arguments, wherever they are before `--`. */
function globalOptions(argv: string[]): { rest: string[]; url?: string; apiKey?: string } {
  const rest: string[] = [];
  const found: { url?: string; apiKey?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    const match = /^--(url|api-key)(?:=(.*))?$/.exec(arg);
    if (!match) {
      rest.push(arg);
      continue;
    }
    const value = match[2] ?? argv[++i];
    if (value === undefined || value === "") throw new UsageError(`--${match[1]} needs a value`);
    found[match[1] === "url" ? "url" : "apiKey"] = value;
  }
  return { rest, ...found };
}

/** Runs `keyward …`; `alias` is set when an `npm run <group>` script runs one group. */
export async function main(argv: string[], alias?: { group: string; name: string }): Promise<void> {
  if (!alias) setHelpRewrite(keywardNames);
  const invocation = alias?.name ?? "keyward";
  await runSingle(invocation, {
    summary: "",
    help: HELP,
    async run() {
      const { rest, url, apiKey } = globalOptions(alias ? [alias.group, ...argv] : argv);
      const [name, ...args] = rest;
      if (!alias && (name === undefined || name === "--help" || name === "-h" || name === "help")) {
        if (name === undefined) throw new UsageError(`a group is required\n\n${HELP}`);
        process.stdout.write(`${HELP}\n`);
        return;
      }
      if (!alias && (name === "--version" || name === "-v")) {
        process.stdout.write("keyward 0.1.0\n");
        return;
      }
      const group = Object.hasOwn(GROUPS, name!) ? GROUPS[name!] : undefined;
      if (!group) throw new UsageError(`unknown group "${name}" (groups: ${Object.keys(GROUPS).join(", ")})`);
      configureRemote({ url, apiKey });
      const asksHelp = args.includes("--help") || args.includes("-h") || args.length === 0 || args[0] === "help";
      if (remoteTarget() && !asksHelp) {
        if (group.localOnly) throw new UsageError(`"keyward ${name}" works on the database itself and has no remote mode: unset KEYWARD_URL/KEYWARD_API_KEY (and drop --url/--api-key), and run it where the database is`);
      }
      if (group.command) return runSingle(alias?.name ?? `keyward ${name}`, group.command, args);
      return runProgram({ ...group.program!, name: alias?.name ?? `keyward ${name}` }, args);
    },
  }, []);
}
