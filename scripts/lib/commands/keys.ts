import { createIssuedKeyInput, createKeyInput, externalIdSchema, keyIdSchema, keyStatusFilterSchema, rotateKeyInput, updateKeyInput, type CreateKeyInput, type ListKeysInput } from "../../../app/lib/key-schemas";
import type { ApiKeyView } from "../../../app/services/keys.server";
import type { Keyward } from "../../../app/services/keyward.server";
import { integerOption, listOption, namedLimitsOption, parseCommand, parseInput, required, UsageError, type Command, type Program } from "../cli";
import { namedLimits, printJson, shortDate, table } from "../format";
import { withKeyward } from "../keyward";
import { cliActor as actor, findApi, findUser } from "../lookup";
import { allPages, call, findRemoteApi, findRemoteUser, remoteTarget } from "../remote";

/** Schema fields → the flags that set them, so validation errors name what to fix. */
const FLAGS = {
  name: "--name",
  externalId: "--external-id",
  permissions: "--permissions",
  description: "--description",
  scopes: "--scopes",
  expiresInDays: "--expires-in-days",
  rateLimit: "--rate-limit",
  ratelimits: "--ratelimit",
  allowedIps: "--allowed-ips",
  gracePeriodSeconds: "--grace-seconds",
  status: "--status",
  credits: "--credits/--refill",
  addCredits: "--add-credits",
};

const create: Command = {
  summary: "Create a root key for a user, or issue a key of an API; prints the key alone on stdout",
  help: `Creates a key. The key is printed ALONE on stdout (capture it with
KEY=$(npm run -s keys -- create …)); its details go to stderr. It is shown only this once:
Keyward stores an HMAC digest of it, not the key.

Two kinds of key: a root key (kw_…) is a user's credential for Keyward's own API, with scopes;
an issued key (<prefix>_…) is a key of one of your APIs for a customer, only ever verified, its
settings starting from the API's defaults.

Usage: npm run keys -- create --owner EMAIL --name NAME --scopes read,write [options]
       npm run keys -- create --api ID_OR_PREFIX [--external-id ID] [--permissions LIST] [options]

With --json, prints {"id", "key", "apiKey"} on stdout instead (the key is still shown only this once).

Options for root keys:
  --owner EMAIL              The user who owns the key (email or usr_… id); in remote mode it
                             defaults to the calling key's owner (another owner needs an admin key)
  --scopes LIST              Comma-separated: read, write, admin (admin only for admin owners)
Options for issued keys:
  --api ID_OR_PREFIX         The API (api_… id or its prefix, e.g. acme_live)
  --external-id ID           Your id for the customer; their identity is created on first use
  --permissions LIST         Comma-separated permissions from the API's vocabulary (wildcards: orders.*)
  --ratelimit NAME=N/SECONDS A named rate limit, repeatable: --ratelimit requests=10/1s --ratelimit daily=10000/86400
                             (verification applies each; instead of --rate-limit, which sets the one named "requests")
  --credits N                Usage credits: each valid verification takes its cost (default 1); none left = USAGE_EXCEEDED
  --refill SCHEDULE          With --credits: daily:AMOUNT (00:00 UTC) or monthly:AMOUNT[:DAY] (default day 1)
Options for both:
  --name NAME                A name to recognise the key by (required for root keys)
  --description TEXT         Optional description
  --expires-in-days N        Expire after N days (default: never, unless a maximum lifetime is set)
  --rate-limit REQ/SECONDS   E.g. 100/60 for 100 requests per minute
  --allowed-ips LIST         Comma-separated IPv4/IPv6 addresses or CIDR ranges the key may be used from
  --recoverable              Keep an AES-256-GCM encrypted copy an admin can reveal later (audited)
  --json                     Print {"id", "key", "apiKey"} as JSON on stdout`,
  async run(argv) {
    const { values } = parseCommand(argv, create, {
      owner: { type: "string" },
      api: { type: "string" },
      "external-id": { type: "string" },
      permissions: { type: "string" },
      name: { type: "string" },
      description: { type: "string" },
      scopes: { type: "string" },
      "expires-in-days": { type: "string" },
      "rate-limit": { type: "string" },
      ratelimit: { type: "string", multiple: true },
      credits: { type: "string" },
      refill: { type: "string" },
      "allowed-ips": { type: "string" },
      recoverable: { type: "boolean" },
      json: { type: "boolean" },
    });
    const common = {
      description: values.description,
      expiresInDays: integerOption(values["expires-in-days"], "--expires-in-days"),
      rateLimit: rateLimitOption(values["rate-limit"]),
      allowedIps: listOption(values["allowed-ips"]),
      recoverable: values.recoverable,
    };
    const created = values.api === undefined ? await createRootKey(values, common) : await createIssuedKey(values.api, values, common);
    if (values.json) return printJson({ id: created.apiKey.id, key: created.key, apiKey: created.apiKey });
    process.stdout.write(`${created.key}\n`);
    process.stderr.write(`${describeKey(created.apiKey, created.belongsTo)}\nStore the key now: it is shown only this once.\n`);
  },
};

interface CreateOptions {
  owner?: string;
  "external-id"?: string;
  permissions?: string;
  ratelimit?: string[];
  credits?: string;
  refill?: string;
  name?: string;
  scopes?: string;
}

type CommonKeyOptions = Pick<CreateKeyInput, "description" | "expiresInDays" | "rateLimit" | "allowedIps" | "recoverable">;

/** What `create` prints: the key once, and who or what it belongs to. */
interface CreatedKey {
  key: string;
  apiKey: ApiKeyView;
  belongsTo: string;
}

async function createRootKey(values: CreateOptions, common: CommonKeyOptions): Promise<CreatedKey> {
  for (const flag of ["external-id", "permissions", "ratelimit", "credits", "refill"] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} is for keys issued for an API: add --api${flag === "ratelimit" ? " (a root key has one --rate-limit)" : ""}`);
  }
  const owner = remoteTarget() && values.owner === undefined ? undefined : required(values.owner, "--owner");
  const input = parseInput(createKeyInput, { ...common, name: required(values.name, "--name"), scopes: listOption(required(values.scopes, "--scopes")) }, FLAGS);
  if (remoteTarget()) {
    const user = owner === undefined ? undefined : await findRemoteUser(owner);
    const created = await call<{ key: string; apiKey: ApiKeyView }>("POST", "/api/v1/keys", { body: { ...input, ownerId: user?.id } });
    return { ...created, belongsTo: user ? `for ${user.email}` : "for the calling key's owner" };
  }
  return withKeyward(async (keyward) => {
    const user = await findUser(keyward, owner!);
    return { ...(await keyward.keys.create(actor, { ...input, ownerId: user.id })), belongsTo: `for ${user.email}` };
  });
}

async function createIssuedKey(api: string, values: CreateOptions, common: CommonKeyOptions): Promise<CreatedKey> {
  // An issued key belongs to its API's owner, and has permissions rather than scopes.
  for (const flag of ["owner", "scopes"] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} is for root keys; a key issued for an API belongs to the API's owner and has --permissions`);
  }
  const input = parseInput(
    createIssuedKeyInput,
    {
      ...common,
      name: values.name,
      externalId: values["external-id"],
      permissions: listOption(values.permissions),
      ratelimits: namedLimitsOption(values.ratelimit, false),
      credits: creditsOption(values.credits, values.refill),
    },
    FLAGS,
  );
  const describe = (found: { id: string; prefix: string }) => `of API ${found.prefix} (${found.id})${input.externalId === undefined ? "" : ` for ${input.externalId}`}`;
  if (remoteTarget()) {
    const found = await findRemoteApi(api);
    const created = await call<{ key: string; apiKey: ApiKeyView }>("POST", `/api/v1/apis/${found.id}/keys`, { body: input });
    return { ...created, belongsTo: describe(found) };
  }
  return withKeyward(async (keyward) => {
    const found = await findApi(keyward, api);
    const created = await keyward.keys.createIssued(actor, found.id, input);
    return { ...created, belongsTo: describe(found) };
  });
}

const update: Command = {
  summary: "Change a key's name, description or named rate limits (audited)",
  help: `Changes a key; the audit log records what changed. Named limits are replaced as a whole.

Usage: npm run keys -- update KEY_ID [--name NAME] [--description TEXT] [--ratelimit NAME=N/SECONDS …] [--clear-ratelimits]
                                    [--credits N [--refill SCHEDULE] | --add-credits N | --clear-credits]

Options:
  --name NAME                A new name
  --description TEXT         A new description
  --ratelimit NAME=N/SECONDS An issued key's named limits, repeatable, replacing those it has:
                             --ratelimit requests=10/1s --ratelimit daily=10000/86400
  --clear-ratelimits         Remove every named limit of the key (it is then not limited)
  --credits N                Set an issued key's credits to N (with --refill daily:AMOUNT or monthly:AMOUNT[:DAY])
  --add-credits N            Add N credits to what the key has now (a due refill first)
  --clear-credits            Remove the key's credits: it is then unlimited
  --json                     Print the key after the change as JSON`,
  async run(argv) {
    const {
      values,
      positionals: [rawId],
    } = parseCommand(
      argv,
      update,
      {
        name: { type: "string" },
        description: { type: "string" },
        ratelimit: { type: "string", multiple: true },
        "clear-ratelimits": { type: "boolean" },
        credits: { type: "string" },
        refill: { type: "string" },
        "add-credits": { type: "string" },
        "clear-credits": { type: "boolean" },
        json: { type: "boolean" },
      },
      ["KEY_ID"],
    );
    const id = parseInput(keyIdSchema, rawId, { "": "KEY_ID" });
    if (values["clear-credits"] && (values.credits !== undefined || values["add-credits"] !== undefined)) throw new UsageError("--clear-credits removes the credits: give it alone, not with --credits or --add-credits");
    const patch = parseInput(
      updateKeyInput,
      {
        name: values.name,
        description: values.description,
        ratelimits: namedLimitsOption(values.ratelimit, values["clear-ratelimits"]),
        credits: values["clear-credits"] ? null : creditsOption(values.credits, values.refill),
        addCredits: integerOption(values["add-credits"], "--add-credits"),
      },
      FLAGS,
    );
    if (Object.values(patch).every((value) => value === undefined)) {
      throw new UsageError("nothing to change: give --name, --description, --ratelimit, --clear-ratelimits, --credits, --add-credits or --clear-credits");
    }
    const remote = remoteTarget();
    const { apiKey, belongsTo } = remote
      ? await call<ApiKeyView>("PATCH", `/api/v1/keys/${id}`, { body: patch }).then((apiKey) => ({ apiKey, belongsTo: remoteBelongsTo(apiKey) }))
      : await withKeyward(async (keyward) => {
          const apiKey = await keyward.keys.update(actor, id, patch);
          return { apiKey, belongsTo: await localBelongsTo(keyward, apiKey) };
        });
    if (values.json) return printJson(apiKey);
    process.stdout.write(`${describeKey(apiKey, belongsTo)}\n`);
  },
};

const list: Command = {
  summary: "List keys (never their secrets)",
  help: `Lists keys, newest first. Keys are shown by their start and last 4 characters only.

Usage: npm run keys -- list [--owner EMAIL] [--api ID_OR_PREFIX [--external-id ID]] [--status STATUS] [--json]

Options:
  --owner EMAIL          Only this user's keys (email or usr_… id; an API's keys belong to its owner)
  --api ID_OR_PREFIX     Only the keys issued for this API
  --external-id ID       Only the keys of this customer (your id for them)
  --status STATUS        active, disabled, expired, revoked or all (default: all)
  --json                 Print a JSON array of keys instead of a table`,
  async run(argv) {
    const { values } = parseCommand(argv, list, {
      owner: { type: "string" },
      api: { type: "string" },
      "external-id": { type: "string" },
      status: { type: "string" },
      json: { type: "boolean" },
    });
    const status = values.status === undefined ? "all" : parseInput(keyStatusFilterSchema, values.status, { "": "--status" });
    const externalId = values["external-id"] === undefined ? undefined : parseInput(externalIdSchema, values["external-id"], { "": "--external-id" });
    const { keys, emails, prefixes } = remoteTarget() ? await listRemote(values, status, externalId) : await withKeyward(async (keyward) => {
      const ownerId = values.owner === undefined ? undefined : (await findUser(keyward, values.owner)).id;
      const apiId = values.api === undefined ? undefined : (await findApi(keyward, values.api)).id;
      const keys: ApiKeyView[] = [];
      let cursor: string | undefined;
      do {
        const filter: ListKeysInput = { ownerId, apiId, externalId, status, limit: 100, cursor };
        const page = await keyward.keys.list(actor, filter);
        keys.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      const emails = new Map((await keyward.users.list(actor)).map((user) => [user.id, user.email]));
      return { keys, emails, prefixes: await apiPrefixes(keyward) };
    });
    if (values.json) return printJson(keys);
    if (keys.length === 0) {
      process.stderr.write("No keys match.\n");
      return;
    }
    const rows = keys.map((key) => [
      key.id,
      key.name,
      emails.get(key.ownerId) ?? key.ownerId,
      key.status,
      key.apiId === null ? "root" : (prefixes.get(key.apiId) ?? key.apiId),
      access(key).join(","),
      `${key.start}…${key.last4}`,
      shortDate(key.expiresAt, "never"),
    ]);
    process.stdout.write(`${table(["id", "name", "owner", "status", "api", "access", "key", "expires"], rows)}\n`);
  },
};

const revoke: Command = {
  summary: "Revoke a key (final)",
  help: `Revokes a key. Revocation is final; revoking a revoked key changes nothing.

Usage: npm run keys -- revoke KEY_ID [--json]

Options:
  --json    Print the key after the change as JSON`,
  async run(argv) {
    const {
      values,
      positionals: [rawId],
    } = parseCommand(argv, revoke, { json: { type: "boolean" } }, ["KEY_ID"]);
    const id = parseInput(keyIdSchema, rawId, { "": "KEY_ID" });
    const { before, after } = remoteTarget()
      ? { before: await call<ApiKeyView>("GET", `/api/v1/keys/${id}`), after: await call<ApiKeyView>("DELETE", `/api/v1/keys/${id}`) }
      : await withKeyward(async (keyward) => {
          const before = await keyward.keys.get(actor, id);
          return { before, after: await keyward.keys.revoke(actor, id) };
        });
    if (values.json) return printJson(after);
    process.stdout.write(
      before.status === "revoked"
        ? `${after.id} (${after.name}) was already revoked; nothing changed.\n`
        : `Revoked ${after.id} (${after.name}) at ${shortDate(after.revokedAt)}.\n`,
    );
  },
};

const rotate: Command = {
  summary: "Rotate a key; prints the new key alone on stdout",
  help: `Issues a new key with the same settings (scopes, allowlist, rate limit, lifetime) and
lets the old key keep working for a grace period. The new key is printed ALONE on stdout;
details go to stderr.

Usage: npm run keys -- rotate KEY_ID [--grace-seconds N] [--json]

Options:
  --grace-seconds N    How long the old key keeps working, 0–604800 (default: 0, it stops now)
  --json               Print {"id", "key", "apiKey", "previous"} as JSON on stdout (id and key: the new key)`,
  async run(argv) {
    const {
      values,
      positionals: [rawId],
    } = parseCommand(argv, rotate, { "grace-seconds": { type: "string" }, json: { type: "boolean" } }, ["KEY_ID"]);
    const id = parseInput(keyIdSchema, rawId, { "": "KEY_ID" });
    const { gracePeriodSeconds } = parseInput(rotateKeyInput, { gracePeriodSeconds: integerOption(values["grace-seconds"], "--grace-seconds") }, FLAGS);
    const { key, apiKey, previous, belongsTo } = remoteTarget()
      ? await call<{ key: string; apiKey: ApiKeyView; previous: ApiKeyView }>("POST", `/api/v1/keys/${id}/rotate`, { body: { gracePeriodSeconds } }).then((rotated) => ({ ...rotated, belongsTo: remoteBelongsTo(rotated.apiKey) }))
      : await withKeyward(async (keyward) => {
          const rotated = await keyward.keys.rotate(actor, id, { gracePeriodSeconds });
          return { ...rotated, belongsTo: await localBelongsTo(keyward, rotated.apiKey) };
        });
    if (values.json) return printJson({ id: apiKey.id, key, apiKey, previous });
    process.stdout.write(`${key}\n`);
    const until = gracePeriodSeconds > 0 ? `keeps working until ${shortDate(previous.expiresAt)}` : "stopped working now";
    process.stderr.write(`${describeKey(apiKey, belongsTo)}\nThe previous key ${previous.id} ${until}.\nStore the new key now: it is shown only this once.\n`);
  },
};

const show: Command = {
  summary: "Show one key's settings and status (never its secret)",
  help: `Shows a key: its settings, status and owner. Never the key itself (see reveal).

Usage: npm run keys -- show KEY_ID [--json]

Options:
  --json    Print the key as JSON`,
  async run(argv) {
    const {
      values,
      positionals: [rawId],
    } = parseCommand(argv, show, { json: { type: "boolean" } }, ["KEY_ID"]);
    const id = parseInput(keyIdSchema, rawId, { "": "KEY_ID" });
    const { apiKey, belongsTo } = remoteTarget()
      ? await call<ApiKeyView>("GET", `/api/v1/keys/${id}`).then((apiKey) => ({ apiKey, belongsTo: remoteBelongsTo(apiKey) }))
      : await withKeyward(async (keyward) => {
          const apiKey = await keyward.keys.get(actor, id);
          return { apiKey, belongsTo: await localBelongsTo(keyward, apiKey) };
        });
    if (values.json) return printJson(apiKey);
    process.stdout.write(`${describeKey(apiKey, belongsTo)}\n  status     ${apiKey.status}\n  created    ${shortDate(apiKey.createdAt)}\n  last used  ${shortDate(apiKey.lastUsedAt, "never")}\n`);
  },
};

/** `keys disable` and `keys enable`: one switch, audited (key.disabled / key.enabled). */
function statusCommand(disabled: boolean): Command {
  const verb = disabled ? "disable" : "enable";
  const command: Command = {
    summary: disabled ? "Disable a key (it stops working until enabled again; audited)" : "Enable a disabled key again (audited)",
    help: `${disabled ? "Disables a key: it stops authenticating and verifying at once, and can be enabled again." : "Enables a disabled key again. A revoked or expired key stays unusable."}
Doing it twice changes nothing.

Usage: npm run keys -- ${verb} KEY_ID [--json]

Options:
  --json    Print the key after the change as JSON`,
    async run(argv) {
      const {
        values,
        positionals: [rawId],
      } = parseCommand(argv, command, { json: { type: "boolean" } }, ["KEY_ID"]);
      const id = parseInput(keyIdSchema, rawId, { "": "KEY_ID" });
      const apiKey = remoteTarget()
        ? await call<ApiKeyView>("PATCH", `/api/v1/keys/${id}`, { body: { disabled } })
        : await withKeyward((keyward) => (disabled ? keyward.keys.disable(actor, id) : keyward.keys.enable(actor, id)));
      if (values.json) return printJson(apiKey);
      process.stdout.write(`${disabled ? "Disabled" : "Enabled"} ${apiKey.id} (${apiKey.name}); its status is now ${apiKey.status}.\n`);
    },
  };
  return command;
}

const reveal: Command = {
  summary: "Print a recoverable key's plaintext (admin; every reveal is audited)",
  help: `Prints the plaintext of a key created with --recoverable, ALONE on stdout. Every reveal is
recorded in the audit log and as a security event. Keys that are not recoverable cannot be revealed:
Keyward only ever stored their digest.

Usage: npm run keys -- reveal KEY_ID [--json]

Options:
  --json    Print {"id", "key"} as JSON`,
  async run(argv) {
    const {
      values,
      positionals: [rawId],
    } = parseCommand(argv, reveal, { json: { type: "boolean" } }, ["KEY_ID"]);
    const id = parseInput(keyIdSchema, rawId, { "": "KEY_ID" });
    const { key } = remoteTarget() ? await call<{ key: string }>("POST", `/api/v1/keys/${id}/reveal`) : await withKeyward((keyward) => keyward.keys.reveal(actor, id));
    if (values.json) return printJson({ id, key });
    process.stdout.write(`${key}\n`);
  },
};

/** Whose key it is, for people: the owner's email, or the API's prefix (local mode reads both). */
async function localBelongsTo(keyward: Keyward, apiKey: ApiKeyView): Promise<string> {
  return apiKey.apiId === null ? `for ${(await findUser(keyward, apiKey.ownerId)).email}` : `of API ${(await keyward.apis.get(actor, apiKey.apiId)).prefix} (${apiKey.apiId})`;
}

/** The same in remote mode, without extra requests (a non-admin key may not list users). */
function remoteBelongsTo(apiKey: ApiKeyView): string {
  return apiKey.apiId === null ? `owned by ${apiKey.ownerId}` : `of API ${apiKey.apiId}`;
}

/** `keys list` in remote mode: the keys through the REST API, and owners' emails and API prefixes when the key may read them. */
async function listRemote(values: { owner?: string; api?: string }, status: string, externalId: string | undefined) {
  const ownerId = values.owner === undefined ? undefined : (await findRemoteUser(values.owner)).id;
  const apiId = values.api === undefined ? undefined : (await findRemoteApi(values.api)).id;
  const keys = await allPages<ApiKeyView>("/api/v1/keys", { ownerId, apiId, externalId, status });
  // Names are a courtesy: a key without the admin scope may not list users; ids are shown then.
  const users = await call<{ data: { id: string; email: string }[] }>("GET", "/api/v1/users").catch(() => ({ data: [] }));
  const apis = await allPages<{ id: string; prefix: string }>("/api/v1/apis", { includeArchived: true }).catch(() => []);
  return { keys, emails: new Map(users.data.map((user) => [user.id, user.email])), prefixes: new Map(apis.map((api) => [api.id, api.prefix])) };
}

/** `--credits N [--refill daily:AMOUNT | monthly:AMOUNT[:DAY]]` as the credits input (checked by its schema). */
function creditsOption(credits: string | undefined, refill: string | undefined): { remaining: number; refill?: { interval: "daily" | "monthly"; amount: number; refillDay?: number } } | undefined {
  if (credits === undefined) {
    if (refill !== undefined) throw new UsageError("--refill needs --credits (the balance to start from)");
    return undefined;
  }
  const remaining = integerOption(credits, "--credits")!;
  if (refill === undefined) return { remaining };
  const match = /^(daily|monthly):(\d+)(?::(\d+))?$/.exec(refill);
  if (!match || (match[1] === "daily" && match[3] !== undefined)) throw new UsageError(`--refill must look like daily:AMOUNT or monthly:AMOUNT[:DAY], got "${refill}"`);
  const [, interval, amount, day] = match;
  return { remaining, refill: { interval: interval as "daily" | "monthly", amount: Number(amount), ...(day === undefined ? {} : { refillDay: Number(day) }) } };
}

function rateLimitOption(value: string | undefined): { requests: number; windowSeconds: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  if (!match) throw new UsageError(`--rate-limit must look like REQUESTS/SECONDS (e.g. 100/60), got "${value}"`);
  return { requests: Number(match[1]), windowSeconds: Number(match[2]) };
}

/** What a key may do: a root key's scopes, an issued key's permissions. */
function access(key: ApiKeyView): string[] {
  return key.kind === "root" ? key.scopes : key.permissions;
}

/** Every API's prefix by id, for the keys table. */
async function apiPrefixes(keyward: Keyward): Promise<Map<string, string>> {
  const prefixes = new Map<string, string>();
  let cursor: string | undefined;
  do {
    const page = await keyward.apis.list(actor, { includeArchived: true, limit: 100, cursor });
    for (const api of page.data) prefixes.set(api.id, api.prefix);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return prefixes;
}

/** A key's settings, for stderr (never the secret); `belongsTo` says whose it is ("for EMAIL", "of API …"). */
function describeKey(key: ApiKeyView, belongsTo: string): string {
  const lines = [
    `Key ${key.id} "${key.name}" ${belongsTo}`,
    `  shown as   ${key.start}…${key.last4}`,
    key.kind === "root" ? `  scopes     ${key.scopes.join(", ")}` : `  permissions ${key.permissions.join(", ") || "none"}`,
    `  expires    ${shortDate(key.expiresAt, "never")}`,
  ];
  if (key.kind === "root" && key.rateLimit) lines.push(`  rate limit ${key.rateLimit.requests} requests per ${key.rateLimit.windowSeconds} s`);
  if (key.kind === "issued") lines.push(`  ratelimits ${namedLimits(key.ratelimits, "none (not limited)")}`);
  if (key.credits) {
    const { remaining, refill, nextRefillAt } = key.credits;
    lines.push(`  credits    ${remaining} remaining${refill ? `, refilled ${refill.interval} to ${refill.amount} (next ${shortDate(nextRefillAt)})` : ""}`);
  }
  if (key.allowedIps.length > 0) lines.push(`  allowed    ${key.allowedIps.join(", ")}`);
  if (key.recoverable) lines.push("  recoverable: an admin can reveal it later (every reveal is audited)");
  return lines.join("\n");
}

export const keysProgram: Program = {
  name: "npm run keys --",
  summary: "Manage Keyward API keys from the command line (acts as the system, recorded as \"cli\" in the audit log).",
  commands: { create, list, show, update, enable: statusCommand(false), disable: statusCommand(true), revoke, rotate, reveal },
};
