import { createApiInput, updateApiInput } from "../../../app/lib/apis-schemas";
import type { ApiView } from "../../../app/services/apis.server";
import { listOption, parseCommand, parseInput, required, UsageError, type Command, type Program } from "../cli";
import { printJson, shortDate, table } from "../format";
import { withKeyward } from "../keyward";
import { cliActor as actor, findApi, ownerOrFirstAdmin } from "../lookup";
import { allPages, call, findRemoteApi, remoteTarget } from "../remote";
import type { UserView } from "../../../app/services/users.server";

/** In remote mode, owners' emails when the key may list users (admin); ids otherwise. */
async function remoteEmails(): Promise<Map<string, string>> {
  try {
    const { data } = await call<{ data: UserView[] }>("GET", "/api/v1/users");
    return new Map(data.map((user) => [user.id, user.email]));
  } catch {
    return new Map();
  }
}

/** Schema fields → the flags that set them, so validation errors name what to fix. */
const FLAGS = { name: "--name", prefix: "--prefix", permissions: "--permissions" };

const create: Command = {
  summary: "Create an API (a service whose keys Keyward issues and verifies)",
  help: `Creates an API: its keys start with its prefix (acme_live_…), draw their permissions from its
vocabulary, and are checked with POST /api/v1/verify. Prints the API's id alone on stdout, and a
summary on stderr.

An API belongs to a user (members see only their own APIs; admins see all). The CLI acts for
no user, so it makes --owner the owner, or else the first admin.

Usage: npm run apis -- create --name NAME --prefix PREFIX [--permissions LIST] [--owner EMAIL]

Options:
  --name NAME          A name to recognise the API by
  --prefix PREFIX      Its keys' prefix: 2–12 characters, lower-case letters and digits, optional
                       _ segments (acme, acme_live); unique, never reused, "kw" is reserved
  --permissions LIST   Comma-separated permission vocabulary, e.g. orders.read,orders.write
                       (default: read, write, admin, where admin implies write and write read)
  --owner EMAIL        The user who owns the API (email or usr_… id; default: the first admin)`,
  async run(argv) {
    const { values } = parseCommand(argv, create, { name: { type: "string" }, prefix: { type: "string" }, permissions: { type: "string" }, owner: { type: "string" } });
    const input = parseInput(
      createApiInput,
      { name: required(values.name, "--name"), prefix: required(values.prefix, "--prefix"), permissions: listOption(values.permissions) },
      FLAGS,
    );
    if (remoteTarget() && values.owner !== undefined) throw new UsageError("in remote mode the API belongs to the calling key's owner: leave out --owner");
    const { api, ownerEmail } = remoteTarget()
      ? await (async () => {
          const api = await call<ApiView>("POST", "/api/v1/apis", { body: input });
          return { api, ownerEmail: (await remoteEmails()).get(api.ownerId) ?? api.ownerId };
        })()
      : await withKeyward(async (keyward) => {
          const owner = await ownerOrFirstAdmin(keyward, values.owner);
          return { api: await keyward.apis.create(actor, input, { ownerId: owner.id }), ownerEmail: owner.email };
        });
    process.stdout.write(`${api.id}\n`);
    process.stderr.write(`${describeApi(api, ownerEmail)}\nIssue its keys with "npm run keys -- create --api ${api.prefix}".\n`);
  },
};

const list: Command = {
  summary: "List APIs with their key counts",
  help: `Lists APIs, newest first, with their keys (live = neither revoked nor expired / all).

Usage: npm run apis -- list [--archived] [--json]

Options:
  --archived   Include archived (deleted) APIs
  --json       Print a JSON array of APIs instead of a table`,
  async run(argv) {
    const { values } = parseCommand(argv, list, { archived: { type: "boolean" }, json: { type: "boolean" } });
    const { apis, emails } = remoteTarget()
      ? { apis: await allPages<ApiView>("/api/v1/apis", { includeArchived: values.archived ?? false }), emails: await remoteEmails() }
      : await withKeyward(async (keyward) => {
      const apis: ApiView[] = [];
      let cursor: string | undefined;
      do {
        const page = await keyward.apis.list(actor, { includeArchived: values.archived ?? false, limit: 100, cursor });
        apis.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      const emails = new Map((await keyward.users.list(actor)).map((user) => [user.id, user.email]));
      return { apis, emails };
    });
    if (values.json) return printJson(apis);
    if (apis.length === 0) {
      process.stderr.write('No APIs yet. Create one with "npm run apis -- create".\n');
      return;
    }
    const rows = apis.map((api) => [
      api.id,
      api.name,
      api.prefix,
      emails.get(api.ownerId) ?? api.ownerId,
      `${api.keyCount.live}/${api.keyCount.total}`,
      api.archivedAt ? `archived ${shortDate(api.archivedAt)}` : "",
      api.permissions.join(","),
    ]);
    process.stdout.write(`${table(["id", "name", "prefix", "owner", "keys", "archived", "permissions"], rows)}\n`);
  },
};

const update: Command = {
  summary: "Rename an API or change its permission vocabulary",
  help: `Changes an API's name or permission vocabulary. A permission still granted to a live key
cannot be removed from the vocabulary (take it from the keys first).

Usage: npm run apis -- update ID_OR_PREFIX [--name NAME] [--permissions LIST]

Options:
  --name NAME          The new name
  --permissions LIST   The whole new vocabulary, comma-separated (replaces the old one)`,
  async run(argv) {
    const {
      values,
      positionals: [which],
    } = parseCommand(argv, update, { name: { type: "string" }, permissions: { type: "string" } }, ["ID_OR_PREFIX"]);
    if (values.name === undefined && values.permissions === undefined) throw new UsageError("nothing to change: give --name or --permissions");
    const patch = parseInput(updateApiInput, { name: values.name, permissions: listOption(values.permissions) }, FLAGS);
    const { api, ownerEmail } = remoteTarget()
      ? await (async () => {
          const current = await findRemoteApi(which!);
          const api = await call<ApiView>("PATCH", `/api/v1/apis/${current.id}`, { body: patch });
          return { api, ownerEmail: (await remoteEmails()).get(api.ownerId) ?? api.ownerId };
        })()
      : await withKeyward(async (keyward) => {
      const current = await findApi(keyward, which!);
      const api = await keyward.apis.update(actor, current.id, patch);
      return { api, ownerEmail: (await keyward.users.get(actor, api.ownerId)).email };
    });
    process.stdout.write(`Updated ${api.id}.\n`);
    process.stderr.write(`${describeApi(api, ownerEmail)}\n`);
  },
};

/** An API's settings, for stderr. */
function describeApi(api: ApiView, ownerEmail: string): string {
  const implied = Object.entries(api.implications).map(([name, implies]) => `${name} → ${implies.join(", ")}`);
  return [
    `API ${api.id} "${api.name}" owned by ${ownerEmail}`,
    `  keys look like ${api.prefix}_…`,
    `  permissions ${api.permissions.join(", ")}`,
    ...(implied.length > 0 ? [`  implies     ${implied.join("; ")}`] : []),
  ].join("\n");
}

export const apisProgram: Program = {
  name: "npm run apis --",
  summary: "Manage the APIs Keyward issues keys for (acts as the system, recorded as \"cli\" in the audit log).",
  commands: { create, list, update },
};
