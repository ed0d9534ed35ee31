import { externalIdSchema, identityIdSchema } from "../app/lib/key-schemas";
import type { IdentityView } from "../app/services/identities.server";
import type { ApiKeyView } from "../app/services/keys.server";
import { parseCommand, parseInput, runProgram, type Command } from "./lib/cli";
import { printJson, shortDate, table } from "./lib/format";
import { withKeyward } from "./lib/keyward";
import { cliActor as actor, findApi } from "./lib/lookup";

const list: Command = {
  summary: "List identities (the customers your APIs' keys are issued to)",
  help: `Lists identities, newest first, with their keys (live = neither revoked nor expired / all).

Usage: npm run identities -- list [--api ID_OR_PREFIX] [--external-id ID] [--json]

Options:
  --api ID_OR_PREFIX   Only this API's identities (api_… id or its prefix)
  --external-id ID     Only the identity with this id of yours (one per API)
  --json               Print a JSON array of identities instead of a table`,
  async run(argv) {
    const { values } = parseCommand(argv, list, { api: { type: "string" }, "external-id": { type: "string" }, json: { type: "boolean" } });
    const externalId = values["external-id"] === undefined ? undefined : parseInput(externalIdSchema, values["external-id"], { "": "--external-id" });
    const { identities, prefixes } = await withKeyward(async (keyward) => {
      const apiId = values.api === undefined ? undefined : (await findApi(keyward, values.api)).id;
      const identities: IdentityView[] = [];
      let cursor: string | undefined;
      do {
        const page = await keyward.identities.list(actor, { apiId, externalId, limit: 100, cursor });
        identities.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      const prefixes = new Map<string, string>();
      for (const id of new Set(identities.map((identity) => identity.apiId))) prefixes.set(id, (await keyward.apis.get(actor, id)).prefix);
      return { identities, prefixes };
    });
    if (values.json) return printJson(identities);
    if (identities.length === 0) {
      process.stderr.write("No identities match.\n");
      return;
    }
    const rows = identities.map((identity) => [
      identity.id,
      identity.externalId,
      prefixes.get(identity.apiId) ?? identity.apiId,
      `${identity.keyCount.live}/${identity.keyCount.total}`,
      shortDate(identity.createdAt),
    ]);
    process.stdout.write(`${table(["id", "external id", "api", "keys", "created"], rows)}\n`);
  },
};

const show: Command = {
  summary: "Show an identity and its keys",
  help: `Shows an identity, its metadata and its keys (never their secrets).

Usage: npm run identities -- show IDENTITY_ID [--json]

Options:
  --json    Print { identity, keys } as JSON instead of text`,
  async run(argv) {
    const {
      values,
      positionals: [rawId],
    } = parseCommand(argv, show, { json: { type: "boolean" } }, ["IDENTITY_ID"]);
    const id = parseInput(identityIdSchema, rawId, { "": "IDENTITY_ID" });
    const { identity, prefix, keys } = await withKeyward(async (keyward) => {
      const identity = await keyward.identities.get(actor, id);
      const keys: ApiKeyView[] = [];
      let cursor: string | undefined;
      do {
        const page = await keyward.keys.list(actor, { identityId: id, limit: 100, cursor });
        keys.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return { identity, prefix: (await keyward.apis.get(actor, identity.apiId)).prefix, keys };
    });
    if (values.json) return printJson({ identity, keys });
    const meta = Object.keys(identity.meta).length > 0 ? JSON.stringify(identity.meta) : "none";
    process.stdout.write(
      `Identity ${identity.id} "${identity.externalId}" of API ${prefix} (${identity.apiId})\n` +
        `  created  ${shortDate(identity.createdAt)}\n  meta     ${meta}\n  keys     ${identity.keyCount.live} live of ${identity.keyCount.total}\n`,
    );
    if (keys.length === 0) return;
    const rows = keys.map((key) => [key.id, key.name, key.status, key.permissions.join(","), `${key.start}…${key.last4}`, shortDate(key.expiresAt, "never")]);
    process.stdout.write(`\n${table(["id", "name", "status", "permissions", "key", "expires"], rows)}\n`);
  },
};

const revokeKeys: Command = {
  summary: "Revoke every key of an identity (final)",
  help: `Revokes every key of an identity that is not revoked yet, in one step, recorded as one audit
entry with the count. Revocation is final.

Usage: npm run identities -- revoke-keys IDENTITY_ID`,
  async run(argv) {
    const {
      positionals: [rawId],
    } = parseCommand(argv, revokeKeys, {}, ["IDENTITY_ID"]);
    const id = parseInput(identityIdSchema, rawId, { "": "IDENTITY_ID" });
    const { identity, revoked } = await withKeyward(async (keyward) => {
      const identity = await keyward.identities.get(actor, id);
      return { identity, revoked: await keyward.identities.revokeKeys(actor, id) };
    });
    process.stdout.write(
      revoked.count === 0
        ? `${identity.id} (${identity.externalId}) had no key left to revoke; nothing changed.\n`
        : `Revoked ${revoked.count} key${revoked.count === 1 ? "" : "s"} of ${identity.id} (${identity.externalId}): ${revoked.keyIds.join(", ")}.\n`,
    );
  },
};

await runProgram({
  name: "npm run identities --",
  summary: "Manage the identities (customers) your APIs' keys are issued to (acts as the system, recorded as \"cli\" in the audit log).",
  commands: { list, show, "revoke-keys": revokeKeys },
});
