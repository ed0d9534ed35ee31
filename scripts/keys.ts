import { createKeyInput, keyIdSchema, keyStatusFilterSchema, rotateKeyInput, type ListKeysInput } from "../app/lib/key-schemas";
import type { ApiKeyView } from "../app/services/keys.server";
import { integerOption, listOption, parseCommand, parseInput, required, runProgram, UsageError, type Command } from "./lib/cli";
import { printJson, shortDate, table } from "./lib/format";
import { withKeyward } from "./lib/keyward";
import { cliActor as actor, findUser } from "./lib/lookup";

/** Schema fields → the flags that set them, so validation errors name what to fix. */
const FLAGS = {
  name: "--name",
  description: "--description",
  scopes: "--scopes",
  expiresInDays: "--expires-in-days",
  rateLimit: "--rate-limit",
  allowedIps: "--allowed-ips",
  gracePeriodSeconds: "--grace-seconds",
  status: "--status",
};

const create: Command = {
  summary: "Create a key for a user; prints the key alone on stdout",
  help: `Creates an API key. The key is printed ALONE on stdout (capture it with
KEY=$(npm run -s keys -- create …)); its details go to stderr. It is shown only this once:
Keyward stores an HMAC digest of it, not the key.

Usage: npm run keys -- create --owner EMAIL --name NAME --scopes read,write [options]

Options:
  --owner EMAIL              The user who owns the key (email or usr_… id)
  --name NAME                A name to recognise the key by
  --scopes LIST              Comma-separated: read, write, admin (admin only for admin owners)
  --description TEXT         Optional description
  --expires-in-days N        Expire after N days (default: never, unless KEYWARD_MAX_KEY_TTL_DAYS is set)
  --rate-limit REQ/SECONDS   E.g. 100/60 for 100 requests per minute
  --allowed-ips LIST         Comma-separated IPv4/IPv6 addresses or CIDR ranges the key may be used from
  --recoverable              Keep an AES-256-GCM encrypted copy an admin can reveal later (audited)`,
  async run(argv) {
    const { values } = parseCommand(argv, create, {
      owner: { type: "string" },
      name: { type: "string" },
      description: { type: "string" },
      scopes: { type: "string" },
      "expires-in-days": { type: "string" },
      "rate-limit": { type: "string" },
      "allowed-ips": { type: "string" },
      recoverable: { type: "boolean" },
    });
    const owner = required(values.owner, "--owner");
    const input = parseInput(
      createKeyInput,
      {
        name: required(values.name, "--name"),
        description: values.description,
        scopes: listOption(required(values.scopes, "--scopes")),
        expiresInDays: integerOption(values["expires-in-days"], "--expires-in-days"),
        rateLimit: rateLimitOption(values["rate-limit"]),
        allowedIps: listOption(values["allowed-ips"]),
        recoverable: values.recoverable,
      },
      FLAGS,
    );

    const { key, apiKey, ownerEmail } = await withKeyward(async (keyward) => {
      const user = await findUser(keyward, owner);
      return { ...(await keyward.keys.create(actor, { ...input, ownerId: user.id })), ownerEmail: user.email };
    });
    process.stdout.write(`${key}\n`);
    process.stderr.write(`${describeKey(apiKey, ownerEmail)}\nStore the key now: it is shown only this once.\n`);
  },
};

const list: Command = {
  summary: "List keys (never their secrets)",
  help: `Lists keys, newest first. Keys are shown by their start and last 4 characters only.

Usage: npm run keys -- list [--owner EMAIL] [--status STATUS] [--json]

Options:
  --owner EMAIL      Only this user's keys (email or usr_… id)
  --status STATUS    active, disabled, expired, revoked or all (default: all)
  --json             Print a JSON array of keys instead of a table`,
  async run(argv) {
    const { values } = parseCommand(argv, list, { owner: { type: "string" }, status: { type: "string" }, json: { type: "boolean" } });
    const status = values.status === undefined ? "all" : parseInput(keyStatusFilterSchema, values.status, { "": "--status" });
    const { keys, emails } = await withKeyward(async (keyward) => {
      const ownerId = values.owner === undefined ? undefined : (await findUser(keyward, values.owner)).id;
      const keys: ApiKeyView[] = [];
      let cursor: string | undefined;
      do {
        const filter: ListKeysInput = { ownerId, status, limit: 100, cursor };
        const page = await keyward.keys.list(actor, filter);
        keys.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      const emails = new Map((await keyward.users.list(actor)).map((user) => [user.id, user.email]));
      return { keys, emails };
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
      key.scopes.join(","),
      `${key.start}…${key.last4}`,
      shortDate(key.expiresAt, "never"),
    ]);
    process.stdout.write(`${table(["id", "name", "owner", "status", "scopes", "key", "expires"], rows)}\n`);
  },
};

const revoke: Command = {
  summary: "Revoke a key (final)",
  help: `Revokes a key. Revocation is final; revoking a revoked key changes nothing.

Usage: npm run keys -- revoke KEY_ID`,
  async run(argv) {
    const {
      positionals: [rawId],
    } = parseCommand(argv, revoke, {}, ["KEY_ID"]);
    const id = parseInput(keyIdSchema, rawId, { "": "KEY_ID" });
    const { before, after } = await withKeyward(async (keyward) => {
      const before = await keyward.keys.get(actor, id);
      return { before, after: await keyward.keys.revoke(actor, id) };
    });
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

Usage: npm run keys -- rotate KEY_ID [--grace-seconds N]

Options:
  --grace-seconds N    How long the old key keeps working, 0–604800 (default: 0, it stops now)`,
  async run(argv) {
    const {
      values,
      positionals: [rawId],
    } = parseCommand(argv, rotate, { "grace-seconds": { type: "string" } }, ["KEY_ID"]);
    const id = parseInput(keyIdSchema, rawId, { "": "KEY_ID" });
    const { gracePeriodSeconds } = parseInput(rotateKeyInput, { gracePeriodSeconds: integerOption(values["grace-seconds"], "--grace-seconds") }, FLAGS);
    const { key, apiKey, previous, ownerEmail } = await withKeyward(async (keyward) => {
      const rotated = await keyward.keys.rotate(actor, id, { gracePeriodSeconds });
      return { ...rotated, ownerEmail: (await findUser(keyward, rotated.apiKey.ownerId)).email };
    });
    process.stdout.write(`${key}\n`);
    const until = gracePeriodSeconds > 0 ? `keeps working until ${shortDate(previous.expiresAt)}` : "stopped working now";
    process.stderr.write(`${describeKey(apiKey, ownerEmail)}\nThe previous key ${previous.id} ${until}.\nStore the new key now: it is shown only this once.\n`);
  },
};

/** `100/60` → 100 requests per 60 seconds. */
function rateLimitOption(value: string | undefined): { requests: number; windowSeconds: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  if (!match) throw new UsageError(`--rate-limit must look like REQUESTS/SECONDS (e.g. 100/60), got "${value}"`);
  return { requests: Number(match[1]), windowSeconds: Number(match[2]) };
}

/** A key's settings, for stderr (never the secret). */
function describeKey(key: ApiKeyView, ownerEmail: string): string {
  const lines = [
    `Key ${key.id} "${key.name}" for ${ownerEmail}`,
    `  shown as   ${key.start}…${key.last4}`,
    `  scopes     ${key.scopes.join(", ")}`,
    `  expires    ${shortDate(key.expiresAt, "never")}`,
  ];
  if (key.rateLimit) lines.push(`  rate limit ${key.rateLimit.requests} requests per ${key.rateLimit.windowSeconds} s`);
  if (key.allowedIps.length > 0) lines.push(`  allowed    ${key.allowedIps.join(", ")}`);
  if (key.recoverable) lines.push("  recoverable: an admin can reveal it later (every reveal is audited)");
  return lines.join("\n");
}

await runProgram({
  name: "npm run keys --",
  summary: "Manage Keyward API keys from the command line (acts as the system, recorded as \"cli\" in the audit log).",
  commands: { create, list, revoke, rotate },
});
