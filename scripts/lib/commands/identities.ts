import { createIdentityInput, updateIdentityInput } from "../../../app/lib/apis-schemas";
import { externalIdSchema, identityIdSchema } from "../../../app/lib/key-schemas";
import type { IdentityView } from "../../../app/services/identities.server";
import type { ApiKeyView } from "../../../app/services/keys.server";
import { namedLimitsOption, parseCommand, parseInput, required, UsageError, type Command, type Program } from "../cli";
import { namedLimits, printJson, shortDate, table } from "../format";
import { withKeyward } from "../keyward";
import { cliActor as actor, findApi } from "../lookup";
import { allPages, call, findRemoteApi, remoteTarget } from "../remote";
import type { ApiView } from "../../../app/services/apis.server";

/** In remote mode: an API's prefix by id, through GET /api/v1/apis/{id}. */
const remotePrefix = async (apiId: string) => (await call<ApiView>("GET", `/api/v1/apis/${apiId}`)).prefix;

/** Schema fields → the flags that set them, so validation errors name what to fix. */
const FLAGS = { externalId: "--external-id", ratelimits: "--ratelimit", apiId: "--api" };

const RATELIMIT_HELP = `  --ratelimit NAME=N/SECONDS A limit shared by all the identity's keys, repeatable:
                             --ratelimit requests=100/1s --ratelimit daily=100000/86400`;

/** An identity's settings, for stdout (`--json` prints the identity itself). */
function describeIdentity(identity: IdentityView, prefix: string): string {
  const meta = Object.keys(identity.meta).length > 0 ? JSON.stringify(identity.meta) : "none";
  return (
    `Identity ${identity.id} "${identity.externalId}" of API ${prefix} (${identity.apiId})\n` +
    `  created    ${shortDate(identity.createdAt)}\n  meta       ${meta}\n  ratelimits ${namedLimits(identity.ratelimits, "none (shared limits apply only when set)")}\n` +
    `  keys       ${identity.keyCount.live} live of ${identity.keyCount.total}\n`
  );
}

const create: Command = {
  summary: "Create an identity (a customer) of an API, with shared rate limits",
  help: `Creates an identity: one of your customers, by your own id for them. Keys issued later with
--external-id ID join it. Its rate limits are shared by all its keys.

Usage: npm run identities -- create --api ID_OR_PREFIX --external-id ID [--ratelimit NAME=N/SECONDS …] [--json]

Options:
  --api ID_OR_PREFIX         The API (api_… id or its prefix)
  --external-id ID           Your id for the customer (unique within the API)
${RATELIMIT_HELP}
  --json                     Print the identity as JSON`,
  async run(argv) {
    const { values } = parseCommand(argv, create, { api: { type: "string" }, "external-id": { type: "string" }, ratelimit: { type: "string", multiple: true }, json: { type: "boolean" } });
    const api = required(values.api, "--api");
    const externalId = required(values["external-id"], "--external-id");
    const ratelimits = namedLimitsOption(values.ratelimit, false);
    const { identity, prefix } = remoteTarget()
      ? await (async () => {
          const found = await findRemoteApi(api);
          const input = parseInput(createIdentityInput, { apiId: found.id, externalId, ratelimits }, FLAGS);
          return { identity: await call<IdentityView>("POST", "/api/v1/identities", { body: input }), prefix: found.prefix };
        })()
      : await withKeyward(async (keyward) => {
          const found = await findApi(keyward, api);
          const input = parseInput(createIdentityInput, { apiId: found.id, externalId, ratelimits }, FLAGS);
          return { identity: await keyward.identities.create(actor, input), prefix: found.prefix };
        });
    if (values.json) return printJson(identity);
    process.stdout.write(describeIdentity(identity, prefix));
  },
};

const update: Command = {
  summary: "Change an identity's external id or shared rate limits (audited)",
  help: `Changes an identity; the audit log records what changed. Rate limits are replaced as a whole.

Usage: npm run identities -- update IDENTITY_ID [--external-id ID] [--ratelimit NAME=N/SECONDS …] [--clear-ratelimits] [--json]

Options:
  --external-id ID           A new id of yours for the customer
${RATELIMIT_HELP}
  --clear-ratelimits         Remove every shared limit
  --json                     Print the identity as JSON`,
  async run(argv) {
    const {
      values,
      positionals: [rawId],
    } = parseCommand(argv, update, { "external-id": { type: "string" }, ratelimit: { type: "string", multiple: true }, "clear-ratelimits": { type: "boolean" }, json: { type: "boolean" } }, ["IDENTITY_ID"]);
    const id = parseInput(identityIdSchema, rawId, { "": "IDENTITY_ID" });
    const patch = parseInput(updateIdentityInput, { externalId: values["external-id"], ratelimits: namedLimitsOption(values.ratelimit, values["clear-ratelimits"]) }, FLAGS);
    if (patch.externalId === undefined && patch.ratelimits === undefined) throw new UsageError("nothing to change: give --external-id, --ratelimit or --clear-ratelimits");
    const { identity, prefix } = remoteTarget()
      ? await (async () => {
          const identity = await call<IdentityView>("PATCH", `/api/v1/identities/${id}`, { body: patch });
          return { identity, prefix: await remotePrefix(identity.apiId) };
        })()
      : await withKeyward(async (keyward) => {
          const identity = await keyward.identities.update(actor, id, patch);
          return { identity, prefix: (await keyward.apis.get(actor, identity.apiId)).prefix };
        });
    if (values.json) return printJson(identity);
    process.stdout.write(describeIdentity(identity, prefix));
  },
};

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
    const { identities, prefixes } = remoteTarget()
      ? await (async () => {
          const apiId = values.api === undefined ? undefined : (await findRemoteApi(values.api)).id;
          const identities = await allPages<IdentityView>("/api/v1/identities", { apiId, externalId });
          const prefixes = new Map<string, string>();
          for (const id of new Set(identities.map((identity) => identity.apiId))) prefixes.set(id, await remotePrefix(id));
          return { identities, prefixes };
        })()
      : await withKeyward(async (keyward) => {
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
    const { identity, prefix, keys } = remoteTarget()
      ? await (async () => {
          const identity = await call<IdentityView>("GET", `/api/v1/identities/${id}`);
          const keys = await allPages<ApiKeyView>(`/api/v1/apis/${identity.apiId}/keys`, { identityId: id });
          return { identity, prefix: await remotePrefix(identity.apiId), keys };
        })()
      : await withKeyward(async (keyward) => {
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
    process.stdout.write(describeIdentity(identity, prefix));
    if (keys.length === 0) return;
    const rows = keys.map((key) => [key.id, key.name, key.status, key.permissions.join(","), namedLimits(key.ratelimits, "—"), `${key.start}…${key.last4}`, shortDate(key.expiresAt, "never")]);
    process.stdout.write(`\n${table(["id", "name", "status", "permissions", "ratelimits", "key", "expires"], rows)}\n`);
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
    const { identity, revoked } = remoteTarget()
      ? {
          identity: await call<IdentityView>("GET", `/api/v1/identities/${id}`),
          revoked: await call<{ count: number; keyIds: string[] }>("POST", `/api/v1/identities/${id}/revoke-keys`),
        }
      : await withKeyward(async (keyward) => {
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

export const identitiesProgram: Program = {
  name: "npm run identities --",
  summary: "Manage the identities (customers) your APIs' keys are issued to (acts as the system, recorded as \"cli\" in the audit log).",
  commands: { create, update, list, show, "revoke-keys": revokeKeys },
};
