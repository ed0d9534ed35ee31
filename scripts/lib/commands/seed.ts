import { loadConfig, type Config } from "../../../app/config.server";
import { createIssuedKeyInput, createKeyInput, type CreateIssuedKeyInput, type CreateKeyInput } from "../../../app/lib/key-schemas";
import type { ApiView } from "../../../app/services/apis.server";
import { BulkSeedService, type BulkKeySpec } from "../../../app/services/bulk-seed.server";
import type { Clock } from "../../../app/services/clock.server";
import { KeyService, type ApiKeyView } from "../../../app/services/keys.server";
import type { Keyward } from "../../../app/services/keyward.server";
import { CliError, integerOption, parseCommand, UsageError, type Command } from "../cli";
import { shortDate, table } from "../format";
import { describeDatabase, withKeyward } from "../keyward";
import { cliActor as actor } from "../lookup";
import { formatCount, formatDuration, Progress } from "../progress";

/** Development sign-ins; the seed prints them, so they are only for databases nobody else can reach. */
const ADMIN = { email: "admin@keyward.local", password: "admin-dev-password", role: "admin" } as const;
const MEMBER = { email: "member@keyward.local", password: "member-dev-password", role: "member" } as const;

const DAY_MS = 86_400_000;

/** The seeded APIs' permission vocabulary: writing implies reading, `admin` implies every write. */
const PERMISSIONS = ["orders.read", "orders.write", "billing.read", "billing.write", "admin"];
const IMPLICATIONS = { admin: ["orders.write", "billing.write"], "orders.write": ["orders.read"], "billing.write": ["billing.read"] };
/** Acme's production API (the admin's) and its test API (the member's): two owners, two prefixes. */
const LIVE_API = { name: "Acme (production)", prefix: "acme_live", owner: ADMIN.email } as const;
const TEST_API = { name: "Acme (test)", prefix: "acme_test", owner: MEMBER.email } as const;

/** At scale: customers per API the load keys are issued to (most keys to the first ones). */
const LOAD_IDENTITIES = 100;
/** At scale: the share of load keys issued for the production API; the rest go to the test API. */
const LIVE_SHARE = 0.8;
/** At scale: new active keys given a usage history, busy every minute / one minute in ten. */
const HOT_KEYS = 20;
const WARM_KEYS = 180;
const SERVICES = ["billing", "checkout", "search", "ledger", "mailer", "reports", "inventory", "auth-proxy", "analytics", "webhooks", "mobile", "partner-sync"];
const ENVIRONMENTS = ["production", "staging", "ci", "dev"];

const seed: Command = {
  summary: "Seed a development database",
  help: `Seeds a development database: an admin and a member with known passwords (printed here),
root keys in every status (active, disabled, expired, revoked, and a rotation whose old key
is still in its grace period), and two APIs, ${LIVE_API.prefix} (the admin's) and ${TEST_API.prefix} (the member's),
with the permissions ${PERMISSIONS.join(", ")} (admin implies the writes, a write its read),
a few identities (customers) and keys issued to them in every status, rotated included.

Idempotent (without --keys): when ${ADMIN.email} already exists, nothing is changed.
Refuses to run with NODE_ENV=production unless --force is given.

At scale (for benchmarks): --keys N issues N load keys on top, EVERY run (they are not idempotent),
${Math.round(LIVE_SHARE * 100)} % for ${LIVE_API.prefix} and the rest for ${TEST_API.prefix} (created if missing), most of them to ${LOAD_IDENTITIES}
load identities per API, in every status (about 80 % active, 7 % disabled, 7 % expired,
6 % revoked) with realistic creation dates, expiries and permissions. They are real keys (same
format, digested with the configured secret), but their plaintexts are thrown away at once:
nobody can use them. --days D also writes
D days of per-minute usage for ${HOT_KEYS + WARM_KEYS} of the new active keys (${HOT_KEYS} busy every minute, ${WARM_KEYS} one minute
in ten; about 1.6 million rows for 30 days), request-log rows for the busy keys' last day, and
their request counts and last use. Progress goes to stderr, the summary with the rates to stdout.

Usage: npm run db:seed -- [--keys N [--days D]] [--force]

Options:
  --keys N   Issue N load keys (in transactions of a few thousand)
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
  const issued = await seedIssuedKeys(keyward, config, { admin: admin.id, member: member.id });
  const issuedRows = issued.keys.map(({ key, note }) => [key.name, issued.prefixes.get(key.apiId!)!, issued.externalIds.get(key.identityId ?? "") ?? "—", key.status, key.permissions.join(","), note]);
  process.stdout.write(
    `Seeded ${keys.length} root keys:\n\n${table(["name", "owner", "status", "key", "note"], rows)}\n\n` +
      `Seeded ${issued.prefixes.size} APIs (${[...issued.prefixes.values()].join(", ")}), ${issued.externalIds.size} identities and ${issued.keys.length} issued keys:\n\n` +
      `${table(["name", "api", "identity", "status", "permissions", "note"], issuedRows)}\n\n` +
      `${credentials("Sign in with")}\n\nThe keys' secrets are not printed; create one you can use with "npm run keys -- create" ` +
      `(an issued one with "npm run keys -- create --api ${LIVE_API.prefix} --external-id cust_globex --permissions orders.read").\n`,
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

  const old = await pastKeyService(keyward, config).create(actor, spec({ ownerId: owners.member, name: "Old integration", scopes: ["read"], days: 30 }));
  seeded.push({ key: await keys.get(actor, old.apiKey.id), note: "expired" });

  const leaked = await keys.create(actor, spec({ ownerId: owners.member, name: "Leaked laptop key", scopes: ["read", "write"] }));
  seeded.push({ key: await keys.revoke(actor, leaked.apiKey.id), note: "revoked (final)" });

  const billing = await keys.create(actor, spec({ ownerId: owners.admin, name: "Billing webhook", scopes: ["read", "write"], days: 365, rateLimit: { requests: 1000, windowSeconds: 60 } }));
  const rotated = await keys.rotate(actor, billing.apiKey.id, { gracePeriodSeconds: 24 * 3600 });
  seeded.push({ key: rotated.previous, note: `rotated; works until ${shortDate(rotated.previous.expiresAt)} (grace)` });
  seeded.push({ key: rotated.apiKey, note: `replaces ${rotated.previous.id}` });
  return seeded;
}

/**
 * A key service whose clock reads 45 days ago: an expired key, honestly, is created then with a
 * lifetime of at most 30 days (the service refuses an expiry in the past, as it should).
 */
function pastKeyService(keyward: Keyward, config: Config): KeyService {
  const fortyFiveDaysAgo: Clock = { now: () => new Date(keyward.clock.now().getTime() - 45 * DAY_MS) };
  return new KeyService({
    db: keyward.database.db,
    clock: fortyFiveDaysAgo,
    secrets: config.digestSecrets,
    encryptionKey: config.encryptionKey,
    maxTtlDays: config.maxKeyTtlDays,
    defaultRateLimit: config.rateLimits.defaultLimit,
    events: keyward.events,
  });
}

interface SeededIssuedKeys {
  keys: SeededKey[];
  /** API id → prefix, and identity id → externalId, for the printed table. */
  prefixes: Map<string, string>;
  externalIds: Map<string, string>;
}

/** The two APIs, their customers, and issued keys in each status, all made through the services. */
async function seedIssuedKeys(keyward: Keyward, config: Config, owners: { admin: string; member: string }): Promise<SeededIssuedKeys> {
  const live = await createSeedApi(keyward, LIVE_API, owners.admin);
  const test = await createSeedApi(keyward, TEST_API, owners.member);
  const prefixes = new Map([[live.id, live.prefix], [test.id, test.prefix]]);
  const externalIds = new Map<string, string>();
  const identity = async (apiId: string, externalId: string, meta: Record<string, unknown>) => {
    const created = await keyward.identities.create(actor, { apiId, externalId, meta });
    externalIds.set(created.id, externalId);
    return created.id;
  };
  const globex = await identity(live.id, "cust_globex", { company: "Globex", plan: "enterprise" });
  const initech = await identity(live.id, "cust_initech", { company: "Initech", plan: "starter" });
  // The same customer id in another API is another identity: externalIds are unique per API.
  const globexTest = await identity(test.id, "cust_globex", { company: "Globex", plan: "sandbox" });

  const days = (n?: number) => (config.maxKeyTtlDays === undefined ? n : Math.min(n ?? config.maxKeyTtlDays, config.maxKeyTtlDays));
  const issue = (apiId: string, input: CreateIssuedKeyInput) => keyward.keys.createIssued(actor, apiId, createIssuedKeyInput.parse({ ...input, expiresInDays: days(input.expiresInDays) }));
  const keys = keyward.keys;
  const seeded: SeededKey[] = [];

  const storefront = await issue(live.id, { name: "Globex storefront", identityId: globex, permissions: ["orders.read", "orders.write"], rateLimit: { requests: 600, windowSeconds: 60 } });
  seeded.push({ key: storefront.apiKey, note: "600 requests/min" });

  const reporting = await issue(live.id, { name: "Initech reporting", identityId: initech, permissions: ["orders.read", "billing.read"], expiresInDays: 365 });
  seeded.push({ key: await keys.disable(actor, reporting.apiKey.id), note: "disabled; can be enabled again" });

  // Created 45 days ago for a customer seen then for the first time (its identity made on the way).
  const pilot = await pastKeyService(keyward, config).createIssued(actor, live.id, createIssuedKeyInput.parse({ name: "Umbrella pilot", externalId: "cust_umbrella", permissions: ["orders.read"], expiresInDays: days(30) }));
  seeded.push({ key: await keys.get(actor, pilot.apiKey.id), note: "expired" });
  if (pilot.apiKey.identityId) externalIds.set(pilot.apiKey.identityId, "cust_umbrella");

  const leaked = await issue(live.id, { name: "Initech old integration", identityId: initech, permissions: ["admin"] });
  seeded.push({ key: await keys.revoke(actor, leaked.apiKey.id), note: "revoked (final)" });

  const billing = await issue(live.id, { name: "Globex billing sync", identityId: globex, permissions: ["billing.*"], expiresInDays: 365, recoverable: true });
  const rotated = await keys.rotate(actor, billing.apiKey.id, { gracePeriodSeconds: 24 * 3600 });
  seeded.push({ key: rotated.previous, note: `rotated; works until ${shortDate(rotated.previous.expiresAt)} (grace)` });
  seeded.push({ key: rotated.apiKey, note: `replaces ${rotated.previous.id}; recoverable` });

  const internal = await issue(live.id, { name: "Internal back office", permissions: ["*"] });
  seeded.push({ key: internal.apiKey, note: "no identity; every permission" });

  const sandbox = await issue(test.id, { name: "Globex sandbox", identityId: globexTest, permissions: ["orders.*"] });
  seeded.push({ key: sandbox.apiKey, note: `${TEST_API.prefix}: 60 requests/min by default` });
  return { keys: seeded, prefixes, externalIds };
}

async function createSeedApi(keyward: Keyward, api: typeof LIVE_API | typeof TEST_API, ownerId: string): Promise<ApiView> {
  // The test API slows its keys down by default, as a sandbox would.
  const defaults = api === TEST_API ? { rateLimit: { requests: 60, windowSeconds: 60 } } : undefined;
  return keyward.apis.create(actor, { name: api.name, prefix: api.prefix, permissions: PERMISSIONS, implications: IMPLICATIONS, defaults }, { ownerId });
}

/** `--keys` and `--days`: load keys through the bulk service, then their usage history. */
async function seedAtScale(keyward: Keyward, config: Config, { keys, days }: { keys: number; days?: number }): Promise<void> {
  const bulk = new BulkSeedService({ db: keyward.database.db, clock: keyward.clock, secrets: config.digestSecrets });
  const targets = await loadTargets(keyward);
  const now = keyward.clock.now().getTime();
  const historyStart = now - (days ?? 0) * DAY_MS;
  const statuses = { active: 0, disabled: 0, expired: 0, revoked: 0 };
  let chosen = 0;
  const keysProgress = new Progress("Keys", keys, { unit: "keys" });
  const { kept } = await bulk.insertKeys(actor, {
    count: keys,
    spec: (index) => {
      const spec = loadKeySpec(index, targets, now, config.maxKeyTtlDays);
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
    `Issued ${formatCount(keys)} load keys (${Object.entries(statuses).map(([status, n]) => `${status} ${formatCount(n)}`).join(", ")}) ` +
      `for ${targets.map((target) => target.api.prefix).join(" and ")}, to ${formatCount(targets.length * LOAD_IDENTITIES)} identities, in ${formatDuration(keyRate.seconds)}: ${formatCount(keyRate.perSecond)} keys/s. Their secrets were not kept.\n`,
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

/** An API load keys are issued for, with the load identities they are spread over. */
interface LoadTarget {
  api: ApiView;
  identityIds: string[];
}

/** The seeded APIs (created if this database predates them) and their load identities (created once, reused by later runs). */
async function loadTargets(keyward: Keyward): Promise<LoadTarget[]> {
  const targets: LoadTarget[] = [];
  for (const spec of [LIVE_API, TEST_API]) {
    const owner = await keyward.users.findByEmail(spec.owner);
    if (!owner) throw new CliError(`${spec.owner} does not exist, so ${spec.prefix} has no owner; seed without --keys first`);
    const api = (await findApiByPrefix(keyward, spec.prefix)) ?? (await createSeedApi(keyward, spec, owner.id));
    const existing = new Map<string, string>();
    let cursor: string | undefined;
    do {
      const page = await keyward.identities.list(actor, { apiId: api.id, q: "load-customer-", limit: 100, cursor });
      for (const identity of page.data) existing.set(identity.externalId, identity.id);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const identityIds: string[] = [];
    for (let n = 1; n <= LOAD_IDENTITIES; n++) {
      const externalId = `load-customer-${String(n).padStart(3, "0")}`;
      identityIds.push(existing.get(externalId) ?? (await keyward.identities.create(actor, { apiId: api.id, externalId, meta: { load: true } })).id);
    }
    targets.push({ api, identityIds });
  }
  return targets;
}

async function findApiByPrefix(keyward: Keyward, prefix: string): Promise<ApiView | undefined> {
  let cursor: string | undefined;
  do {
    const page = await keyward.apis.list(actor, { includeArchived: true, limit: 100, cursor });
    const found = page.data.find((api) => api.prefix === prefix);
    if (found) return found;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return undefined;
}

type LoadStatus = "active" | "disabled" | "expired" | "revoked";

/** The permissions a load key gets: mostly reading, some writing, a few wildcards or admin. */
const LOAD_GRANTS = [["orders.read"], ["orders.read"], ["orders.read", "billing.read"], ["orders.write"], ["orders.write", "billing.read"], ["billing.*"], ["orders.*"], ["admin"]];

/**
 * One load key: created in the last two years, issued for the production API four times in five,
 * 90 % to an identity (skewed towards the first ones), some with a rate limit, about 80 % active
 * and half of those without expiry.
 */
function loadKeySpec(index: number, targets: LoadTarget[], now: number, maxTtlDays?: number): { key: BulkKeySpec; status: LoadStatus } {
  const { api, identityIds } = Math.random() < LIVE_SHARE ? targets[0]! : targets[1]!;
  const identityId = Math.random() < 0.9 ? identityIds[Math.floor(identityIds.length * Math.random() ** 2)]! : null;
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
  return {
    status,
    key: {
      ownerId: api.ownerId,
      apiId: api.id,
      identityId,
      name: `${SERVICES[index % SERVICES.length]} ${ENVIRONMENTS[Math.floor(Math.random() * ENVIRONMENTS.length)]} ${index.toString(36)}`,
      scopes: [],
      permissions: LOAD_GRANTS[Math.floor(Math.random() * LOAD_GRANTS.length)]!,
      rateLimit: Math.random() < 0.3 ? { requests: 600 * (1 + Math.floor(Math.random() * 10)), windowSeconds: 60 } : null,
      createdAt: new Date(createdAt),
      expiresAt,
      disabledAt: status === "disabled" ? between(createdAt, now) : null,
      revokedAt: status === "revoked" ? between(createdAt, now) : null,
    },
  };
}

export { seed };
