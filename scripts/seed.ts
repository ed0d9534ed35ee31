import crypto from "node:crypto";
import { loadConfig, type Config } from "../app/config.server";
import { createKeyInput, type CreateKeyInput } from "../app/lib/key-schemas";
import type { Scope } from "../app/lib/scopes";
import { BulkSeedService, type BulkKeySpec } from "../app/services/bulk-seed.server";
import type { Clock } from "../app/services/clock.server";
import { KeyService, type ApiKeyView } from "../app/services/keys.server";
import type { Keyward } from "../app/services/keyward.server";
import { CliError, integerOption, parseCommand, runSingle, UsageError, type Command } from "./lib/cli";
import { shortDate, table } from "./lib/format";
import { describeDatabase, withKeyward } from "./lib/keyward";
import { cliActor as actor } from "./lib/lookup";
import { formatCount, formatDuration, Progress } from "./lib/progress";

/** Development sign-ins; the seed prints them, so they are only for databases nobody else can reach. */
const ADMIN = { email: "admin@keyward.local", password: "admin-dev-password", role: "admin" } as const;
const MEMBER = { email: "member@keyward.local", password: "member-dev-password", role: "member" } as const;

const DAY_MS = 86_400_000;

/** At scale: owners of the load keys besides the admin and the member. */
const LOAD_OWNERS = 10;
/** At scale: new active keys given a usage history, busy every minute / one minute in ten. */
const HOT_KEYS = 20;
const WARM_KEYS = 180;
const SERVICES = ["billing", "checkout", "search", "ledger", "mailer", "reports", "inventory", "auth-proxy", "analytics", "webhooks", "mobile", "partner-sync"];
const ENVIRONMENTS = ["production", "staging", "ci", "dev"];

const seed: Command = {
  summary: "Seed a development database",
  help: `Seeds a development database: an admin and a member with known passwords (printed here),
and keys in every status (active, disabled, expired, revoked, and a rotation whose old key
is still in its grace period).

Idempotent (without --keys): when ${ADMIN.email} already exists, nothing is changed.
Refuses to run with NODE_ENV=production unless --force is given.

At scale (for benchmarks): --keys N adds N load keys on top, EVERY run (they are not idempotent),
spread over ${LOAD_OWNERS} load owners (members without a usable password), the admin and the member, in
every status (about 80 % active, 7 % disabled, 7 % expired, 6 % revoked) with realistic
creation dates and expiries. They are real keys (same format, digested with the configured
secret), but their plaintexts are thrown away at once: nobody can use them. --days D also writes
D days of per-minute usage for ${HOT_KEYS + WARM_KEYS} of the new active keys (${HOT_KEYS} busy every minute, ${WARM_KEYS} one minute
in ten; about 1.6 million rows for 30 days), request-log rows for the busy keys' last day, and
their request counts and last use. Progress goes to stderr, the summary with the rates to stdout.

Usage: npm run db:seed -- [--keys N [--days D]] [--force]

Options:
  --keys N   Add N load keys (in transactions of a few thousand)
  --days D   With --keys: D days of usage history (1–90)
  --force    Seed even with NODE_ENV=production (the passwords are public: change them at once)`,
  async run(argv) {
    const { values } = parseCommand(argv, seed, { force: { type: "boolean" }, keys: { type: "string" }, days: { type: "string" } });
    const keys = integerOption(values.keys, "--keys");
    const days = integerOption(values.days, "--days");
    if (days !== undefined && keys === undefined) throw new UsageError("--days needs --keys: the usage history is written for keys this run adds");
    if (keys !== undefined && keys < 1) throw new UsageError("--keys must be at least 1");
    if (days !== undefined && (days < 1 || days > 90)) throw new UsageError("--days must be between 1 and 90");
    const production = process.env.NODE_ENV === "production";
    if (production && !values.force) {
      throw new CliError("Refusing to seed with NODE_ENV=production: the seeded passwords are printed and public. Pass --force if you really mean it.");
    }
    const config = loadConfig();
    process.stderr.write(`Seeding the ${describeDatabase(config)}\n`);

    await withKeyward(async (keyward) => {
      await seedDevelopment(keyward, config, production);
      if (keys !== undefined) await seedAtScale(keyward, config, { keys, days });
    }, config);
  },
};

/** The admin, the member and one key in each status; nothing when the admin exists already. */
async function seedDevelopment(keyward: Keyward, config: Config, production: boolean): Promise<void> {
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
}

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
    defaultRateLimit: config.rateLimits.defaultLimit,
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

/** `--keys` and `--days`: load keys through the bulk service, then their usage history. */
async function seedAtScale(keyward: Keyward, config: Config, { keys, days }: { keys: number; days?: number }): Promise<void> {
  const bulk = new BulkSeedService({ db: keyward.database.db, clock: keyward.clock, secrets: config.digestSecrets });
  const owners = await loadOwners(keyward);
  const now = keyward.clock.now().getTime();
  const historyStart = now - (days ?? 0) * DAY_MS;
  const statuses = { active: 0, disabled: 0, expired: 0, revoked: 0 };
  let chosen = 0;
  const keysProgress = new Progress("Keys", keys, { unit: "keys" });
  const { kept } = await bulk.insertKeys(actor, {
    count: keys,
    spec: (index) => {
      const spec = loadKeySpec(index, owners, now, config.maxKeyTtlDays);
      statuses[spec.status]++;
      return spec.key;
    },
    // The usage history goes to keys that were active (and existed) all along.
    keep: (spec) => {
      if (days === undefined || chosen >= HOT_KEYS + WARM_KEYS) return false;
      const live = !spec.revokedAt && !spec.disabledAt && (!spec.expiresAt || spec.expiresAt.getTime() > now);
      if (!live || spec.createdAt.getTime() > historyStart) return false;
      chosen++;
      return true;
    },
    onProgress: (done) => keysProgress.update(done),
  });
  const keyRate = keysProgress.finish();
  if (days === undefined) await bulk.analyze();
  process.stdout.write(
    `Added ${formatCount(keys)} load keys (${Object.entries(statuses).map(([status, n]) => `${status} ${formatCount(n)}`).join(", ")}) ` +
      `over ${owners.length} owners in ${formatDuration(keyRate.seconds)}: ${formatCount(keyRate.perSecond)} keys/s. Their secrets were not kept.\n`,
  );
  if (days === undefined) return;

  const ids = kept.map((key) => key.id);
  const usageProgress = new Progress("Usage days", days, { unit: "days" });
  const started = performance.now();
  const usage = await bulk.seedUsage(actor, { hot: ids.slice(0, HOT_KEYS), warm: ids.slice(HOT_KEYS), days, onProgress: (done) => usageProgress.update(done) });
  usageProgress.finish();
  const seconds = (performance.now() - started) / 1000;
  await bulk.analyze();
  process.stdout.write(
    `Usage: ${usage.minuteRows} minute rows with ${usage.requests} requests for ${ids.length} keys (${Math.min(ids.length, HOT_KEYS)} busy every minute), ` +
      `${usage.from} to ${usage.to}; ${usage.logRows} request-log rows for the last day; in ${formatDuration(seconds)}: ` +
      `${formatCount((usage.minuteRows + usage.logRows) / seconds)} rows/s.\n`,
  );
}

/** The owners load keys are spread over, most active first: the member, the load owners, the admin. */
async function loadOwners(keyward: Keyward): Promise<{ id: string; scopes: readonly Scope[] }[]> {
  const owners: { id: string; scopes: readonly Scope[] }[] = [];
  const member = await keyward.users.findByEmail(MEMBER.email);
  if (member) owners.push({ id: member.id, scopes: ["read", "write"] });
  for (let n = 1; n <= LOAD_OWNERS; n++) {
    const email = `load-owner-${String(n).padStart(2, "0")}@keyward.local`;
    // A password nobody knows: these accounts only own load keys.
    const user = (await keyward.users.findByEmail(email)) ?? (await keyward.users.create(actor, { email, password: crypto.randomBytes(24).toString("base64url"), role: "member" }));
    owners.push({ id: user.id, scopes: ["read", "write"] });
  }
  const admin = await keyward.users.findByEmail(ADMIN.email);
  if (admin) owners.push({ id: admin.id, scopes: ["read", "write", "admin"] });
  return owners;
}

type LoadStatus = "active" | "disabled" | "expired" | "revoked";

/**
 * One load key: created in the last two years, owners skewed towards the first ones, mostly read
 * or read/write scopes, some with a rate limit, about 80 % active and half of those without expiry.
 */
function loadKeySpec(index: number, owners: { id: string; scopes: readonly Scope[] }[], now: number, maxTtlDays?: number): { key: BulkKeySpec; status: LoadStatus } {
  const owner = owners[Math.floor(owners.length * Math.random() ** 2)]!;
  const createdAt = now - Math.random() * 730 * DAY_MS;
  const between = (from: number, to: number) => new Date(from + Math.random() * (to - from));
  const roll = Math.random();
  const status: LoadStatus = roll < 0.06 ? "revoked" : roll < 0.13 ? "expired" : roll < 0.2 ? "disabled" : "active";
  let expiresAt: Date | null = Math.random() < 0.5 ? null : new Date(now + (1 + Math.random() * 365) * DAY_MS);
  if (status === "expired") expiresAt = between(createdAt, now);
  else if (maxTtlDays !== undefined && (!expiresAt || expiresAt.getTime() > createdAt + maxTtlDays * DAY_MS)) {
    // A key may not outlive the configured maximum; past it, it is simply expired.
    expiresAt = new Date(Math.max(createdAt + maxTtlDays * DAY_MS, now + 60_000));
  }
  const scopeRoll = Math.random();
  const scopes: Scope[] = owner.scopes.includes("admin") && scopeRoll < 0.2 ? ["admin"] : scopeRoll < 0.6 ? ["read"] : ["read", "write"];
  return {
    status,
    key: {
      ownerId: owner.id,
      name: `${SERVICES[index % SERVICES.length]} ${ENVIRONMENTS[Math.floor(Math.random() * ENVIRONMENTS.length)]} ${index.toString(36)}`,
      scopes,
      rateLimit: Math.random() < 0.3 ? { requests: 600 * (1 + Math.floor(Math.random() * 10)), windowSeconds: 60 } : null,
      createdAt: new Date(createdAt),
      expiresAt,
      disabledAt: status === "disabled" ? between(createdAt, now) : null,
      revokedAt: status === "revoked" ? between(createdAt, now) : null,
    },
  };
}

await runSingle("npm run db:seed --", seed);
