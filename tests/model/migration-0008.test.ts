import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { displayParts, generateKey } from "../../app/lib/key-format";
import { createKeyward, type Keyward } from "../../app/services/keyward.server";
import { candidateDigests } from "../../app/services/secrets.server";
import { migrationsPath, openDatabase, type Database, type DatabaseHandle } from "../../db/client.server";
import { freshPostgresUrl } from "../support/database";
import { TEST_HASHING, testConfig } from "../support/keyward";

/**
 * Migration 0008 (APIs, identities, issued keys) on a database that lived before it: data written
 * at 0007 the way the seed writes it must come through unchanged, every old key a root key.
 */

const LAST_BEFORE = "0007_audit_target_index_with_id";
const config = testConfig();

/** A copy of the migrations folder that stops at `lastTag`: its SQL files and a journal trimmed to them. */
function migrationsUpTo(lastTag: string): string {
  const source = migrationsPath();
  const journal = JSON.parse(fs.readFileSync(path.join(source, "meta", "_journal.json"), "utf8")) as { entries: { idx: number; tag: string }[] };
  const last = journal.entries.findIndex((entry) => entry.tag === lastTag);
  if (last < 0) throw new Error(`no migration ${lastTag}`);
  const entries = journal.entries.slice(0, last + 1);
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-migrations-"));
  fs.mkdirSync(path.join(folder, "meta"));
  fs.writeFileSync(path.join(folder, "meta", "_journal.json"), JSON.stringify({ ...journal, entries }));
  for (const { tag } of entries) fs.copyFileSync(path.join(source, `${tag}.sql`), path.join(folder, `${tag}.sql`));
  return folder;
}

async function rows<T>(db: Database, query: ReturnType<typeof sql>): Promise<T[]> {
  const result: unknown = await db.execute(query);
  return Array.isArray(result) ? (result as T[]) : (result as { rows: T[] }).rows;
}

/** Every table's rows, in a stable order, as text: what "no loss" compares. */
async function snapshot(db: Database): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of ["users", "usage_minutes", "usage_hours", "usage_days", "audit_events", "key_counts"]) {
    out[table] = (await rows<{ row: string }>(db, sql.raw(`select t::text as row from ${table} t order by 1`))).map((r) => r.row);
  }
  // The request log gains columns later (0009): compare the columns it had.
  out.request_log = (
    await rows<{ row: string }>(db, sql`select (id, occurred_at, key_id, method, path, status, client_ip, duration_ms, user_agent, request_id)::text as row from request_log order by id`)
  ).map((r) => r.row);
  // api_keys gains columns: compare the columns it had.
  out.api_keys = (
    await rows<{ row: string }>(
      db,
      sql`select (id, owner_id, name, description, start, last4, digest, digest_version, ciphertext, scopes, allowed_ips, rate_limit, expires_at,
            disabled_at, revoked_at, revoked_by, rotated_from, created_by, last_used_at, last_used_ip, request_count, metadata, created_at, updated_at)::text as row
          from api_keys order by id`,
    )
  ).map((r) => r.row);
  return out;
}

interface OldKey {
  id: string;
  key: string;
  status: "VALID" | "REVOKED" | "DISABLED" | "EXPIRED";
}

/** Users, keys in every status (one rotated), usage and audit rows, written with the 0007 schema's own columns. */
async function seedAt0007(db: Database): Promise<OldKey[]> {
  const day = 86_400_000;
  const now = Date.now();
  await db.execute(sql`insert into users (id, email, password_hash, role) values
    ('usr_admin0000000000000000', 'admin@keyward.local', '$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', 'admin'),
    ('usr_member000000000000000', 'member@keyward.local', '$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', 'member')`);
  const specs = [
    { id: "key_active00000000000001", owner: "usr_member000000000000000", scopes: ["read", "write"], status: "VALID" as const, extra: {} },
    { id: "key_admin000000000000001", owner: "usr_admin0000000000000000", scopes: ["admin"], status: "VALID" as const, extra: {} },
    { id: "key_disabled000000000001", owner: "usr_member000000000000000", scopes: ["read"], status: "DISABLED" as const, extra: { disabled_at: new Date(now - day) } },
    { id: "key_expired0000000000001", owner: "usr_member000000000000000", scopes: ["read"], status: "EXPIRED" as const, extra: { expires_at: new Date(now - day) } },
    { id: "key_revoked0000000000001", owner: "usr_member000000000000000", scopes: ["read"], status: "REVOKED" as const, extra: { revoked_at: new Date(now - day), revoked_by: "usr_admin0000000000000000" } },
    { id: "key_rotated0000000000001", owner: "usr_admin0000000000000000", scopes: ["read", "write"], status: "VALID" as const, extra: { expires_at: new Date(now + day) } },
    { id: "key_replacement000000001", owner: "usr_admin0000000000000000", scopes: ["read", "write"], status: "VALID" as const, extra: { rotated_from: "key_rotated0000000000001" } },
  ];
  const keys: OldKey[] = [];
  for (const spec of specs) {
    const key = generateKey();
    const [{ digest, version }] = candidateDigests(key, config.digestSecrets) as [{ digest: string; version: number }];
    const { start, last4 } = displayParts(key);
    const extra = spec.extra as { disabled_at?: Date; expires_at?: Date; revoked_at?: Date; revoked_by?: string; rotated_from?: string };
    await db.execute(sql`
      insert into api_keys (id, owner_id, name, start, last4, digest, digest_version, scopes, allowed_ips, rate_limit, metadata, expires_at, disabled_at, revoked_at, revoked_by, rotated_from, request_count, last_used_at)
      values (${spec.id}, ${spec.owner}, ${`Seeded ${spec.id}`}, ${start}, ${last4}, ${digest}, ${version}, ${`{${spec.scopes.join(",")}}`}::text[], '{127.0.0.1/32}'::text[],
        '{"requests":100,"windowSeconds":60}'::jsonb, '{"team":"ops"}'::jsonb, ${extra.expires_at?.toISOString() ?? null}, ${extra.disabled_at?.toISOString() ?? null},
        ${extra.revoked_at?.toISOString() ?? null}, ${extra.revoked_by ?? null}, ${extra.rotated_from ?? null}, 42, now() - interval '1 hour')`);
    await db.execute(sql`insert into audit_events (id, actor_type, actor_id, action, target_type, target_id, details)
      values (${`aud_${spec.id.slice(4)}`}, 'system', null, 'key.created', 'api_key', ${spec.id}, ${JSON.stringify({ name: `Seeded ${spec.id}`, scopes: spec.scopes })}::jsonb)`);
    keys.push({ id: spec.id, key, status: spec.status });
  }
  for (const table of ["usage_minutes", "usage_hours", "usage_days"] as const) {
    const [column, unit] = table === "usage_minutes" ? ["minute", "minute"] : table === "usage_hours" ? ["hour", "hour"] : ["day", "day"];
    await db.execute(
      sql.raw(`insert into ${table} (key_id, ${column}, requests, success, denied, rate_limited, errors)
        select k.id, date_trunc('${unit}', now()) - g * interval '1 ${unit}', 10, 7, 1, 1, 1 from api_keys k cross join generate_series(1, 3) g`),
    );
  }
  await db.execute(sql`insert into request_log (occurred_at, key_id, method, path, status, client_ip, duration_ms, user_agent, request_id)
    select now() - interval '5 minutes', id, 'GET', '/api/v1/keys', 200, '127.0.0.1', 3, 'test', 'req-' || id from api_keys`);
  return keys;
}

describe.each(["pglite", ...(process.env.DATABASE_URL ? ["postgres"] : [])])("migration 0008 on an existing %s database", { timeout: 120_000 }, (backend) => {
  let handle: DatabaseHandle;
  let keyward: Keyward;
  let dropPostgres: (() => Promise<void>) | undefined;
  let oldKeys: OldKey[];
  let before: Record<string, string[]>;
  let folder: string;

  beforeAll(async () => {
    folder = migrationsUpTo(LAST_BEFORE);
    const postgres = backend === "postgres" ? await freshPostgresUrl() : null;
    dropPostgres = postgres?.drop;
    handle = await openDatabase(postgres ? { kind: "postgres", url: postgres.url, max: 2 } : { kind: "pglite", memory: true });
    const previous = process.env.KEYWARD_MIGRATIONS_DIR;
    process.env.KEYWARD_MIGRATIONS_DIR = folder;
    try {
      await handle.migrate();
    } finally {
      if (previous === undefined) delete process.env.KEYWARD_MIGRATIONS_DIR;
      else process.env.KEYWARD_MIGRATIONS_DIR = previous;
    }
    const [apis] = await rows<{ exists: boolean }>(handle.db, sql`select to_regclass('public.apis') is not null as exists`);
    expect(apis!.exists, "the copy stops before 0008").toBe(false);
    oldKeys = await seedAt0007(handle.db);
    before = await snapshot(handle.db);
    // Opening the services applies the remaining migration, as an upgraded app does on start.
    keyward = await createKeyward({ config, database: handle, hashing: TEST_HASHING });
  }, 120_000);
  afterAll(async () => {
    await keyward?.close();
    await handle?.close();
    await dropPostgres?.();
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
  });

  it("applies 0008: the new tables exist and are empty", async () => {
    const [counts] = await rows<{ apis: string | number; identities: string | number }>(
      handle.db,
      sql`select (select count(*) from apis) as apis, (select count(*) from identities) as identities`,
    );
    expect(Number(counts!.apis)).toBe(0);
    expect(Number(counts!.identities)).toBe(0);
  });

  it("loses nothing: users, keys, usage, request log, key counts and audit rows are as they were", async () => {
    expect(before.api_keys).toHaveLength(oldKeys.length);
    expect(before.usage_minutes).toHaveLength(oldKeys.length * 3);
    expect(await snapshot(handle.db)).toEqual(before);
  });

  it("makes every old key a root key: no API, no identity, no permissions, not restricted to APIs", async () => {
    const migrated = await rows<{ id: string; api_id: string | null; identity_id: string | null; permissions: string[] | string; root_api_ids: string[] | null }>(
      handle.db,
      sql`select id, api_id, identity_id, permissions, root_api_ids from api_keys order by id`,
    );
    expect(migrated).toHaveLength(oldKeys.length);
    for (const row of migrated) {
      expect(row, row.id).toMatchObject({ api_id: null, identity_id: null, root_api_ids: null });
      // postgres.js returns text[] as an array; PGlite too, but be explicit about the empty array.
      expect([[], "{}"]).toContainEqual(row.permissions);
    }
    const { data } = await keyward.keys.list({ kind: "system", label: "test" }, { limit: 100 });
    expect(data.map((key) => [key.id, key.kind, key.apiIds, key.permissions])).toEqual(
      expect.arrayContaining(oldKeys.map((key) => [key.id, "root", null, []])),
    );
    const rotated = data.find((key) => key.id === "key_replacement000000001");
    expect(rotated).toMatchObject({ rotatedFrom: "key_rotated0000000000001", scopes: ["read", "write"], allowedIps: ["127.0.0.1/32"], metadata: { team: "ops" }, requestCount: 42 });
  });

  it("still authenticates every old key with its plaintext, each with its old status", async () => {
    for (const old of oldKeys) {
      const result = await keyward.keys.authenticate(old.key);
      expect(result.code, old.id).toBe(old.status);
      if (result.code === "VALID") expect(result.key.id).toBe(old.id);
    }
  });
});
