import { createUserInput, passwordSchema, roleSchema, type UserView } from "../../../app/services/users.server";
import type { Keyward } from "../../../app/services/keyward.server";
import { parseCommand, parseInput, readStdin, required, UsageError, type Command, type Program } from "../cli";
import { printJson, shortDate, table } from "../format";
import { withKeyward } from "../keyward";
import { cliActor as actor, findUser } from "../lookup";
import { call, findRemoteUser, remoteTarget } from "../remote";

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
  --json              Print the new user as JSON instead

Prints the new user's id alone on stdout, and a summary on stderr.`,
  async run(argv) {
    const { values } = parseCommand(argv, create, {
      email: { type: "string" },
      password: { type: "string" },
      "password-stdin": { type: "boolean" },
      role: { type: "string" },
      json: { type: "boolean" },
    });
    if (values.password !== undefined && values["password-stdin"]) throw new UsageError("give --password or --password-stdin, not both");
    if (values.password === undefined && !values["password-stdin"]) throw new UsageError("--password or --password-stdin is required");
    const password = values.password ?? (await readStdin());
    const input = parseInput(createUserInput, { email: required(values.email, "--email"), password, role: values.role }, { email: "--email", password: "--password", role: "--role" });

    const user = remoteTarget() ? await call<UserView>("POST", "/api/v1/users", { body: input }) : await withKeyward((keyward) => keyward.users.create(actor, input));
    if (values.json) return printJson(user);
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
    const users = remoteTarget() ? (await call<{ data: UserView[] }>("GET", "/api/v1/users")).data : await withKeyward((keyward) => keyward.users.list(actor));
    if (values.json) return printJson(users);
    if (users.length === 0) {
      process.stderr.write('No users yet. Create one with "npm run users -- create", or run "npm run db:seed".\n');
      return;
    }
    const rows = users.map((user) => [user.id, user.email, user.role, user.disabledAt ? "disabled" : "active", shortDate(user.createdAt)]);
    process.stdout.write(`${table(["id", "email", "role", "status", "created"], rows)}\n`);
  },
};

/**
 * Runs a change on one user, named by email or id, in either mode: `local` with the services (as the
 * CLI's system actor), `remote` through the REST API (as the key's owner). Both answer the user after.
 */
async function changeUser(who: string, local: (keyward: Keyward, user: UserView) => Promise<UserView>, remote: (user: UserView) => Promise<UserView>): Promise<{ before: UserView; after: UserView }> {
  if (remoteTarget()) {
    const before = await findRemoteUser(who);
    return { before, after: await remote(before) };
  }
  return withKeyward(async (keyward) => {
    const before = await findUser(keyward, who);
    return { before, after: await local(keyward, before) };
  });
}

const patchUser = (user: UserView, body: { role?: string; disabled?: boolean }) => call<UserView>("PATCH", `/api/v1/users/${user.id}`, { body });

const disable: Command = {
  summary: "Disable a user (ends their sessions; their keys stop working)",
  help: `Disables a user: their sessions end at once and their API keys stop authenticating.
The last active admin cannot be disabled.

Usage: npm run users -- disable EMAIL_OR_ID [--json]

Options:
  --json    Print the user after the change as JSON`,
  async run(argv) {
    const {
      values,
      positionals: [who],
    } = parseCommand(argv, disable, { json: { type: "boolean" } }, ["EMAIL_OR_ID"]);
    const { before, after } = await changeUser(
      who!,
      (keyward, user) => (user.disabledAt ? Promise.resolve(user) : keyward.users.disable(actor, user.id)),
      (user) => (user.disabledAt ? Promise.resolve(user) : patchUser(user, { disabled: true })),
    );
    if (values.json) return printJson(after);
    process.stdout.write(
      before.disabledAt
        ? `${before.email} (${before.id}) was already disabled; nothing changed.\n`
        : `Disabled ${after.role} ${after.email} (${after.id}): their sessions ended and their keys stop authenticating.\n`,
    );
  },
};

const enable: Command = {
  summary: "Enable a disabled user again",
  help: `Enables a disabled user: they can sign in again and their keys authenticate again
(unless revoked, disabled or expired themselves).

Usage: npm run users -- enable EMAIL_OR_ID [--json]

Options:
  --json    Print the user after the change as JSON`,
  async run(argv) {
    const {
      values,
      positionals: [who],
    } = parseCommand(argv, enable, { json: { type: "boolean" } }, ["EMAIL_OR_ID"]);
    const { before, after } = await changeUser(
      who!,
      (keyward, user) => keyward.users.enable(actor, user.id),
      (user) => patchUser(user, { disabled: false }),
    );
    if (values.json) return printJson(after);
    process.stdout.write(before.disabledAt ? `Enabled ${after.role} ${after.email} (${after.id}).\n` : `${after.email} (${after.id}) was not disabled; nothing changed.\n`);
  },
};

const setRole: Command = {
  summary: "Make a user admin or member",
  help: `Changes a user's role. Keyward always keeps one active admin: the last one cannot be made
a member. A member's keys lose the admin scope's powers at once (effective scopes follow the role).

Usage: npm run users -- set-role EMAIL_OR_ID admin|member [--json]

Options:
  --json    Print the user after the change as JSON`,
  async run(argv) {
    const {
      values,
      positionals: [who, rawRole],
    } = parseCommand(argv, setRole, { json: { type: "boolean" } }, ["EMAIL_OR_ID", "ROLE"]);
    const role = parseInput(roleSchema, rawRole, { "": "ROLE" });
    const { before, after } = await changeUser(
      who!,
      (keyward, user) => keyward.users.setRole(actor, user.id, role),
      (user) => patchUser(user, { role }),
    );
    if (values.json) return printJson(after);
    process.stdout.write(before.role === role ? `${after.email} (${after.id}) is already ${role}; nothing changed.\n` : `${after.email} (${after.id}) is now ${role} (was ${before.role}).\n`);
  },
};

const resetPassword: Command = {
  summary: "Set a new password for a user (generated unless given); ends their sessions",
  help: `Replaces a user's password and ends every session they have (audited as user.password_reset,
never the password). Without --password or --password-stdin a 24-character password is generated.
The new password is printed ALONE on stdout, this once: pass it to the user over a safe channel.
An admin's key cannot reset its own owner's password (they change it from their account page).

Usage: npm run users -- reset-password EMAIL_OR_ID [--password PASSWORD | --password-stdin] [--json]

Options:
  --password PASS     The new password (at least 10 characters); visible in shell history, prefer:
  --password-stdin    Read the new password from standard input
  --json              Print {"id", "password", "generated", "user"} as JSON`,
  async run(argv) {
    const {
      values,
      positionals: [who],
    } = parseCommand(argv, resetPassword, { password: { type: "string" }, "password-stdin": { type: "boolean" }, json: { type: "boolean" } }, ["EMAIL_OR_ID"]);
    if (values.password !== undefined && values["password-stdin"]) throw new UsageError("give --password or --password-stdin, not both");
    const given = values["password-stdin"] ? await readStdin() : values.password;
    const password = given === undefined ? undefined : parseInput(passwordSchema, given, { "": "--password" });
    let result: { user: UserView; password: string; generated: boolean };
    if (remoteTarget()) {
      const user = await findRemoteUser(who!);
      result = await call("POST", `/api/v1/users/${user.id}/reset-password`, { body: password === undefined ? {} : { password } });
    } else {
      result = await withKeyward(async (keyward) => keyward.users.resetPassword(actor, (await findUser(keyward, who!)).id, password));
    }
    if (values.json) return printJson({ id: result.user.id, password: result.password, generated: result.generated, user: result.user });
    process.stdout.write(`${result.password}\n`);
    process.stderr.write(`${result.generated ? "Generated a new password" : "Set the new password"} for ${result.user.email} (${result.user.id}); their sessions ended.\n`);
  },
};

export const usersProgram: Program = {
  name: "npm run users --",
  summary: "Manage Keyward users from the command line (acts as the system, recorded as \"cli\" in the audit log).",
  commands: { create, list, "set-role": setRole, disable, enable, "reset-password": resetPassword },
};
