import { loadConfig, type Config } from "../app/config.server";
import { createKeyInput, type CreateKeyInput } from "../app/lib/key-schemas";
import type { Clock } from "../app/services/clock.server";
import { KeyService, type ApiKeyView } from "../app/services/keys.server";
import type { Keyward } from "../app/services/keyward.server";
import { CliError, parseCommand, runSingle, type Command } from "./lib/cli";
import { shortDate, table } from "./lib/format";
import { describeDatabase, withKeyward } from "./lib/keyward";
import { cliActor as actor } from "./lib/lookup";

/** Development sign-ins; the seed prints them, so they are only for databases nobody else can reach. */
const ADMIN = { email: "admin@keyward.local", password: "admin-dev-password", role: "admin" } as const;
const MEMBER = { email: "member@keyward.local", password: "member-dev-password", role: "member" } as const;

const DAY_MS = 86_400_000;

const seed: Command = {
  summary: "Seed a development database",
  help: `Seeds a development database: an admin and a member with known passwords (printed here),
and keys in every status (active, disabled, expired, revoked, and a rotation whose old key
is still in its grace period).

Idempotent: when ${ADMIN.email} already exists, nothing is changed.
Refuses to run with NODE_ENV=production unless --force is given.

Usage: npm run db:seed [--force]

Options:
  --force    Seed even with NODE_ENV=production (the passwords are public: change them at once)`,
  async run(argv) {
    const { values } = parseCommand(argv, seed, { force: { type: "boolean" } });
    const production = process.env.NODE_ENV === "production";
    if (production && !values.force) {
      throw new CliError("Refusing to seed with NODE_ENV=production: the seeded passwords are printed and public. Pass --force if you really mean it.");
    }
    const config = loadConfig();
    process.stderr.write(`Seeding the ${describeDatabase(config)}\n`);

    await withKeyward(async (keyward) => {
      if (await keyward.users.findByEmail(ADMIN.email)) {
        process.stdout.write(`Already seeded: ${ADMIN.email} exists, so nothing was changed.\n\n${credentials("Sign in with (unless the passwords were changed since)")}\n`);
        return;
      }
      const admin = await keyward.users.create(actor, ADMIN);
      const member = (await keyward.users.findByEmail(MEMBER.email)) ?? (await keyward.users.create(actor, MEMBER));
      const keys = await seedKeys(keyward, config, { admin: admin.id, member: member.id });
      const emails = new Map([[admin.id, admin.email], [member.id, member.email]]);
      const rows = keys.map(({ key, note }) => [key.name, emails.get(key.ownerId) ?? key.ownerId, key.status, `${key.start}…${key.last4}`, note]);
      process.stdout.write(
        `Seeded ${keys.length} keys:\n\n${table(["name", "owner", "status", "key", "note"], rows)}\n\n` +
          `${credentials("Sign in with")}\n\nThe keys' secrets are not printed; create one you can use with "npm run keys -- create".\n`,
      );
      if (production) process.stderr.write("warning: seeded a production database with public passwords; change them now.\n");
    }, config);
  },
};

function credentials(title: string): string {
  return `${title}:\n${table(["email", "password", "role"], [ADMIN, MEMBER].map((user) => [user.email, user.password, user.role]))}`;
}

interface SeededKey {
  key: ApiKeyView;
  note: string;
}

/** One key in each status, all made through the key service. */
async function seedKeys(keyward: Keyward, config: Config, owners: { admin: string; member: string }): Promise<SeededKey[]> {
  // Keys must respect KEYWARD_MAX_KEY_TTL_DAYS when it is set, like any other key.
  const lifetime = (days?: number) => (config.maxKeyTtlDays === undefined ? days : Math.min(days ?? config.maxKeyTtlDays, config.maxKeyTtlDays));
  const spec = (input: Omit<CreateKeyInput, "expiresInDays"> & { days?: number }): CreateKeyInput => {
    const { days, ...rest } = input;
    return createKeyInput.parse({ ...rest, expiresInDays: lifetime(days) });
  };
  const keys = keyward.keys;
  const seeded: SeededKey[] = [];

  const local = await keys.create(actor, spec({ ownerId: owners.member, name: "Local development", scopes: ["read", "write"], allowedIps: ["127.0.0.1", "::1"], rateLimit: { requests: 100, windowSeconds: 60 } }));
  seeded.push({ key: local.apiKey, note: "localhost only, 100 requests/min" });

  const ci = await keys.create(actor, spec({ ownerId: owners.admin, name: "CI pipeline", scopes: ["admin"], days: 90, recoverable: true }));
  seeded.push({ key: ci.apiKey, note: "recoverable: an admin can reveal it" });

  const staging = await keys.create(actor, spec({ ownerId: owners.member, name: "Staging worker", scopes: ["read"] }));
  seeded.push({ key: await keys.disable(actor, staging.apiKey.id), note: "disabled; can be enabled again" });

  // An expired key, honestly: created 45 days ago with a lifetime of at most 30 days, by a key
  // service whose clock reads that day (the service refuses an expiry in the past, as it should).
  const fortyFiveDaysAgo: Clock = { now: () => new Date(keyward.clock.now().getTime() - 45 * DAY_MS) };
  const pastKeys = new KeyService({
    db: keyward.database.db,
    clock: fortyFiveDaysAgo,
    secrets: config.digestSecrets,
    encryptionKey: config.encryptionKey,
    maxTtlDays: config.maxKeyTtlDays,
    events: keyward.events,
  });
  const old = await pastKeys.create(actor, spec({ ownerId: owners.member, name: "Old integration", scopes: ["read"], days: 30 }));
  seeded.push({ key: await keys.get(actor, old.apiKey.id), note: "expired" });

  const leaked = await keys.create(actor, spec({ ownerId: owners.member, name: "Leaked laptop key", scopes: ["read", "write"] }));
  seeded.push({ key: await keys.revoke(actor, leaked.apiKey.id), note: "revoked (final)" });

  const billing = await keys.create(actor, spec({ ownerId: owners.admin, name: "Billing webhook", scopes: ["read", "write"], days: 365, rateLimit: { requests: 1000, windowSeconds: 60 } }));
  const rotated = await keys.rotate(actor, billing.apiKey.id, { gracePeriodSeconds: 24 * 3600 });
  seeded.push({ key: rotated.previous, note: `rotated; works until ${shortDate(rotated.previous.expiresAt)} (grace)` });
  seeded.push({ key: rotated.apiKey, note: `replaces ${rotated.previous.id}` });
  return seeded;
}

await runSingle("npm run db:seed --", seed);
