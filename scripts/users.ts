import { createUserInput } from "../app/services/users.server";
import { parseCommand, parseInput, readStdin, required, runProgram, UsageError, type Command } from "./lib/cli";
import { printJson, shortDate, table } from "./lib/format";
import { withKeyward } from "./lib/keyward";
import { cliActor as actor, findUser } from "./lib/lookup";

const create: Command = {
  summary: "Create a user",
  help: `Creates a user who can sign in to the dashboard.

Usage: npm run users -- create --email EMAIL (--password PASSWORD | --password-stdin) [--role admin|member]

Options:
  --email EMAIL       Sign-in email (stored lower-cased; must be unique)
  --password PASS     At least 10 characters. Visible in your shell history and the process list;
                      prefer --password-stdin outside development.
  --password-stdin    Read the password from standard input
  --role ROLE         admin or member (default: member)

Prints the new user's id alone on stdout, and a summary on stderr.`,
  async run(argv) {
    const { values } = parseCommand(argv, create, {
      email: { type: "string" },
      password: { type: "string" },
      "password-stdin": { type: "boolean" },
      role: { type: "string" },
    });
    if (values.password !== undefined && values["password-stdin"]) throw new UsageError("give --password or --password-stdin, not both");
    if (values.password === undefined && !values["password-stdin"]) throw new UsageError("--password or --password-stdin is required");
    const password = values.password ?? (await readStdin());
    const input = parseInput(createUserInput, { email: required(values.email, "--email"), password, role: values.role }, { email: "--email", password: "--password", role: "--role" });

    const user = await withKeyward((keyward) => keyward.users.create(actor, input));
    process.stdout.write(`${user.id}\n`);
    process.stderr.write(`Created ${user.role} ${user.email} (${user.id}).\n`);
  },
};

const list: Command = {
  summary: "List users",
  help: `Lists every user, by email.

Usage: npm run users -- list [--json]

Options:
  --json    Print a JSON array (id, email, role, disabledAt, createdAt) instead of a table`,
  async run(argv) {
    const { values } = parseCommand(argv, list, { json: { type: "boolean" } });
    const users = await withKeyward((keyward) => keyward.users.list(actor));
    if (values.json) return printJson(users);
    if (users.length === 0) {
      process.stderr.write('No users yet. Create one with "npm run users -- create", or run "npm run db:seed".\n');
      return;
    }
    const rows = users.map((user) => [user.id, user.email, user.role, user.disabledAt ? "disabled" : "active", shortDate(user.createdAt)]);
    process.stdout.write(`${table(["id", "email", "role", "status", "created"], rows)}\n`);
  },
};

const disable: Command = {
  summary: "Disable a user (ends their sessions; their keys stop working)",
  help: `Disables a user: their sessions end at once and their API keys stop authenticating.
The last active admin cannot be disabled.

Usage: npm run users -- disable EMAIL_OR_ID`,
  async run(argv) {
    const {
      positionals: [who],
    } = parseCommand(argv, disable, {}, ["EMAIL_OR_ID"]);
    await withKeyward(async (keyward) => {
      const found = await findUser(keyward, who!);
      if (found.disabledAt) {
        process.stdout.write(`${found.email} (${found.id}) was already disabled; nothing changed.\n`);
        return;
      }
      const user = await keyward.users.disable(actor, found.id);
      process.stdout.write(`Disabled ${user.role} ${user.email} (${user.id}): their sessions ended and their keys stop authenticating.\n`);
    });
  },
};

await runProgram({
  name: "npm run users --",
  summary: "Manage Keyward users from the command line (acts as the system, recorded as \"cli\" in the audit log).",
  commands: { create, list, disable },
});
