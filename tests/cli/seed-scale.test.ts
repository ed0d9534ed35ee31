import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Keyward } from "../../app/services/keyward.server";
import { cliEnvironment, type CliEnvironment, type CliResult } from "./run-cli";
import { expectEvery } from "../support/expect";

const KEYS = 2000;
const DAYS = 2;
const PLAINTEXT = /(kw|acme_live|acme_test)_[0-9A-Za-z]{50,}/;

async function rows<T>(keyward: Keyward, query: ReturnType<typeof sql>): Promise<T[]> {
  const result: unknown = await keyward.database.db.execute(query);
  return Array.isArray(result) ? (result as T[]) : (result as { rows: T[] }).rows;
}

/** The first number in `text` after `label`, commas allowed (the summary prints 2,000). */
function figure(text: string, pattern: RegExp): number {
  const match = pattern.exec(text);
  expect(match, `${pattern} in:\n${text}`).not.toBeNull();
  return Number(match![1]!.replaceAll(",", ""));
}

describe(`npm run db:seed -- --keys ${KEYS} --days ${DAYS}`, { timeout: 240_000 }, () => {
  let cli: CliEnvironment;
  let seeded: CliResult;
  let keyward: Keyward;

  beforeAll(async () => {
    cli = await cliEnvironment();
    seeded = await cli.run("seed", ["--keys", String(KEYS), "--days", String(DAYS)]);
    keyward = await cli.open();
  }, 240_000);
  afterAll(async () => {
    await keyward?.close();
    await cli?.dispose();
  });

  it("exits 0 with a progress bar and the rates, and prints no key", () => {
    expect(seeded.code, seeded.stderr).toBe(0);
    // Not a terminal: one line per 10 % (batches of 4 000 make the one batch 100 %), then the summary.
    expect(seeded.stderr).toMatch(/^Keys \[#{24}\] 100% 2,000\/2,000 keys, [\d,.]+\/s, ETA 0 s$/m);
    expect(seeded.stderr).toMatch(/^Keys: 2,000 keys in [\d.]+ s \([\d,.]+ keys\/s\)$/m);
    expect(seeded.stderr).toMatch(/^Usage days \[#{12}-{12}\] {2}50% 1\/2 days/m);
    expect(seeded.stdout).toMatch(/^Issued 2,000 load keys \(active [\d,]+, disabled [\d,]+, expired [\d,]+, revoked [\d,]+\) for acme_live and acme_test, to 200 identities, in [\d.]+ s: [\d,]+ keys\/s\./m);
    expect(seeded.stdout).toMatch(/rows\/s\.$/m);
    expect(seeded.stdout + seeded.stderr).not.toMatch(PLAINTEXT);
  });

  it("issues real-looking keys: unique digests, their API's prefix, every status, permissions of the API's vocabulary", async () => {
    const [shape] = await rows<{ total: string | number; digests: string | number; malformed: string | number; revoked: string | number; expired: string | number; disabled: string | number; active: string | number }>(
      keyward,
      sql`select count(*) as total, count(distinct digest) as digests,
            count(*) filter (where digest !~ '^[0-9a-f]{64}$' or start !~ '^acme_(live|test)_[0-9A-Za-z]{4}$' or last4 !~ '^[0-9A-Za-z]{4}$' or ciphertext is not null) as malformed,
            count(*) filter (where revoked_at is not null) as revoked,
            count(*) filter (where revoked_at is null and expires_at <= now()) as expired,
            count(*) filter (where revoked_at is null and (expires_at is null or expires_at > now()) and disabled_at is not null) as disabled,
            count(*) filter (where revoked_at is null and (expires_at is null or expires_at > now()) and disabled_at is null) as active
          from api_keys where api_id is not null and name !~ '^[A-Z]'`,
    );
    expect(Number(shape!.total)).toBe(KEYS);
    expect(Number(shape!.digests)).toBe(KEYS);
    expect(Number(shape!.malformed)).toBe(0);
    const counts = { active: Number(shape!.active), disabled: Number(shape!.disabled), expired: Number(shape!.expired), revoked: Number(shape!.revoked) };
    // The summary's split is the database's.
    expect(seeded.stdout).toContain(`active ${counts.active.toLocaleString("en")}, disabled ${counts.disabled.toLocaleString("en")}, expired ${counts.expired.toLocaleString("en")}, revoked ${counts.revoked.toLocaleString("en")}`);
    expect(counts.active / KEYS).toBeGreaterThan(0.7);
    for (const status of ["disabled", "expired", "revoked"] as const) expect(counts[status], status).toBeGreaterThan(KEYS * 0.02);

    // Each key belongs to its API's owner, holds only its API's permissions, and its identity is of the same API.
    const [fit] = await rows<{ misfits: string | number; apis: string | number; identities: string | number; anonymous: string | number }>(
      keyward,
      sql`select count(*) filter (where k.owner_id <> a.owner_id or k.scopes <> '{}' or i.api_id <> k.api_id
              or exists (select 1 from unnest(k.permissions) p where p not like '%*' and not p = any(a.permissions))) as misfits,
            count(distinct k.api_id) as apis, count(distinct k.identity_id) as identities, count(*) filter (where k.identity_id is null) as anonymous
          from api_keys k join apis a on a.id = k.api_id left join identities i on i.id = k.identity_id where k.name !~ '^[A-Z]'`,
    );
    expect(Number(fit!.misfits)).toBe(0);
    expect(Number(fit!.apis)).toBe(2);
    expect(Number(fit!.identities)).toBeGreaterThan(50);
    expect(Number(fit!.anonymous) / KEYS).toBeGreaterThan(0.03);
    expect(Number(fit!.anonymous) / KEYS).toBeLessThan(0.2);

    // The service reads them like any key, and the list pages through them.
    const page = await keyward.keys.list({ kind: "system", label: "test" }, { status: "revoked", limit: 5 });
    expect(page.data).toHaveLength(5);
    expectEvery(page.data, (key) => key.status === "revoked" && key.revokedAt !== null);

    const [audit] = await rows<{ entries: string | number; keys: string | number }>(
      keyward,
      sql`select count(*) as entries, sum((details->>'count')::int) as keys from audit_events where action = 'key.bulk_created'`,
    );
    expect(Number(audit!.entries)).toBe(1);
    expect(Number(audit!.keys)).toBe(KEYS);
  });

  it("writes usage for 200 active keys, consistent with itself, the keys' counters and the summary", async () => {
    const minuteRows = figure(seeded.stdout, /^Usage: (\d+) minute rows/m);
    const requests = figure(seeded.stdout, / with (\d+) requests for 200 keys/);
    const logRows = figure(seeded.stdout, /; (\d+) request-log rows for the last day/);

    const [usage] = await rows<{ rows: string | number; requests: string | number; keys: string | number; hot: string | number; inconsistent: string | number; days: string | number }>(
      keyward,
      sql`select count(*) as rows, sum(requests) as requests, count(distinct key_id) as keys,
            count(*) filter (where success + denied + rate_limited + errors <> requests or requests < 1) as inconsistent,
            (select count(*) from (select key_id from usage_minutes group by key_id having count(*) = ${DAYS * 1440}) as every_minute) as hot,
            extract(epoch from max(minute) - min(minute)) / 86400 as days
          from usage_minutes`,
    );
    expect(Number(usage!.rows)).toBe(minuteRows);
    expect(Number(usage!.requests)).toBe(requests);
    expect(Number(usage!.keys)).toBe(200);
    expect(Number(usage!.hot)).toBe(20);
    expect(Number(usage!.inconsistent)).toBe(0);
    expect(Number(usage!.days)).toBeGreaterThan(DAYS - 0.01);

    // The hourly roll-up holds exactly the minutes' sums, hour by hour.
    const [rollUp] = await rows<{ mismatched: string | number; hours: string | number }>(
      keyward,
      sql`with minutes as (
            select key_id, date_trunc('hour', minute at time zone 'UTC') at time zone 'UTC' as hour, sum(requests) as requests, sum(success) as success,
              sum(denied) as denied, sum(rate_limited) as rate_limited, sum(errors) as errors
            from usage_minutes group by 1, 2
          )
          select (select count(*) from usage_hours) as hours,
            count(*) filter (where h.key_id is null or m.key_id is null or (m.requests, m.success, m.denied, m.rate_limited, m.errors)
              is distinct from (h.requests::numeric, h.success::numeric, h.denied::numeric, h.rate_limited::numeric, h.errors::numeric)) as mismatched
          from minutes m full join usage_hours h on h.key_id = m.key_id and h.hour = m.hour`,
    );
    expect(Number(rollUp!.hours)).toBeGreaterThan(200 * DAYS * 24 * 0.9);
    expect(Number(rollUp!.mismatched)).toBe(0);

    const [keys] = await rows<{ requests: string | number; notActive: string | number; unused: string | number }>(
      keyward,
      sql`select sum(request_count) as requests,
            count(*) filter (where revoked_at is not null or disabled_at is not null or (expires_at is not null and expires_at <= now())) as "notActive",
            count(*) filter (where last_used_at is null) as unused
          from api_keys where id in (select distinct key_id from usage_minutes)`,
    );
    expect(Number(keys!.requests)).toBe(requests);
    expect(Number(keys!.notActive)).toBe(0);
    expect(Number(keys!.unused)).toBe(0);

    const [log] = await rows<{ rows: string | number; keys: string | number; old: string | number }>(
      keyward,
      sql`select count(*) as rows, count(distinct key_id) as keys, count(*) filter (where occurred_at < now() - interval '25 hours') as old from request_log`,
    );
    expect(Number(log!.rows)).toBe(logRows);
    expect(Number(log!.keys)).toBe(20);
    expect(Number(log!.old)).toBe(0);

    // The usage report of a hot key sees its history.
    const [hot] = await rows<{ key_id: string }>(keyward, sql`select key_id from usage_minutes group by key_id order by sum(requests) desc limit 1`);
    const series = await keyward.usageReports.series({ kind: "system", label: "test" }, hot!.key_id, { granularity: "day", from: new Date(Date.now() - DAYS * 86_400_000 - 86_400_000).toISOString() });
    expect(series.totals.requests).toBeGreaterThan(0);
  });

  it("refuses --days without --keys, as a usage error", async () => {
    const refused = await cli.run("seed", ["--days", "3"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--days needs --keys");
  });
});
