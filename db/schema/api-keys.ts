import { sql } from "drizzle-orm";
import { bigint, index, integer, jsonb, pgTable, primaryKey, text, timestamp, type AnyPgColumn } from "drizzle-orm/pg-core";
import { timestamps } from "./columns";
import { users } from "./users";
import { apis } from "./apis";
import { identities } from "./identities";

export const SCOPES = ["read", "write", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export interface RateLimit {
  requests: number;
  windowSeconds: number;
}

/** One named limit of an issued key or identity: at most `limit` requests per `durationSeconds`. */
export interface NamedRateLimit {
  name: string;
  limit: number;
  durationSeconds: number;
}

/** Credits come back to `amount` every day, or every month on `refillDay` (1–31; the month's last day when shorter). */
export interface CreditsRefill {
  interval: "daily" | "monthly";
  amount: number;
  refillDay?: number;
}

export const apiKeys = pgTable(
  "api_keys",
  {
    /** Public id, `key_` + 20 base62 characters; safe to show and log. */
    id: text("id").primaryKey(),
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    /** `kw_` + first 4 random characters, for display. */
    start: text("start").notNull(),
    last4: text("last4").notNull(),
    /** HMAC-SHA-256 of the plaintext under the server secret of `digestVersion`. */
    digest: text("digest").notNull().unique(),
    digestVersion: integer("digest_version").notNull(),
    /** AES-256-GCM copy, only for keys created as recoverable. */
    ciphertext: text("ciphertext"),
    scopes: text("scopes").array().$type<Scope[]>().notNull(),
    allowedIps: text("allowed_ips").array().notNull().default(sql`'{}'::text[]`),
    /** A root key's limit on Keyward's own API (null = the instance default); always null for issued keys, which have `ratelimits`. */
    rateLimit: jsonb("rate_limit").$type<RateLimit>(),
    /** An issued key's named limits, each applied by verification; empty for root keys. */
    ratelimits: jsonb("ratelimits").$type<NamedRateLimit[]>().notNull().default([]),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }),
    disabledAt: timestamp("disabled_at", { withTimezone: true, mode: "date" }),
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "date" }),
    revokedBy: text("revoked_by").references(() => users.id),
    rotatedFrom: text("rotated_from").references((): AnyPgColumn => apiKeys.id),
    createdBy: text("created_by").references(() => users.id),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true, mode: "date" }),
    lastUsedIp: text("last_used_ip"),
    requestCount: bigint("request_count", { mode: "number" }).notNull().default(0),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    /** The API an issued key belongs to; null for a root key (Keyward's own management credential). */
    apiId: text("api_id").references((): AnyPgColumn => apis.id, { onDelete: "restrict" }),
    /** The customer an issued key belongs to, if any. */
    identityId: text("identity_id").references((): AnyPgColumn => identities.id, { onDelete: "restrict" }),
    /** An issued key's permissions, from its API's vocabulary (wildcards such as `orders.*` allowed); empty for root keys. */
    permissions: text("permissions").array().notNull().default(sql`'{}'::text[]`),
    /** A root key restricted to these APIs; null = every API its owner may see. */
    rootApiIds: text("root_api_ids").array(),
    /** An issued key's remaining usage credits; null = unlimited. Decremented atomically by verification. */
    creditsRemaining: bigint("credits_remaining", { mode: "number" }),
    /** How the credits refill, and when they last did. */
    creditsRefill: jsonb("credits_refill").$type<CreditsRefill>(),
    creditsRefilledAt: timestamp("credits_refilled_at", { withTimezone: true, mode: "date" }),
    /**
     * Set on a rotated issued key that had credits: the key whose balance it spends during its grace
     * period (the newest of its successors) instead of a copy of its own, so a rotation never mints
     * credits. Its own credits columns are then null.
     */
    creditsKeyId: text("credits_key_id").references((): AnyPgColumn => apiKeys.id),
    ...timestamps,
  },
  (t) => [
    // Keyset pagination: newest first, per owner and overall.
    index("api_keys_owner_created_idx").on(t.ownerId, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index("api_keys_created_idx").on(t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index("api_keys_expires_at_idx").on(t.expiresAt),
    // An API's keys and an identity's keys, newest first.
    index("api_keys_api_created_idx").on(t.apiId, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()).where(sql`${t.apiId} is not null`),
    index("api_keys_identity_idx").on(t.identityId).where(sql`${t.identityId} is not null`),
    // A key's successor, looked up by every rotation under the key's row lock (a key is rotated once).
    index("api_keys_rotated_from_idx").on(t.rotatedFrom).where(sql`${t.rotatedFrom} is not null`),
    // The keys in grace spending a key's credits, re-pointed when that key is rotated in turn.
    index("api_keys_credits_key_idx").on(t.creditsKeyId).where(sql`${t.creditsKeyId} is not null`),
    // Name search is a substring match (ilike '%q%'): trigrams serve it at a million keys (pg_trgm, created by migration 0005).
    index("api_keys_name_trgm_idx").using("gin", sql`${t.name} gin_trgm_ops`),
  ],
);

/**
 * Keys per owner and expiry day (UTC; 'infinity' for keys that never expire), kept by statement
 * triggers on api_keys (migration 0005) so the overview counts a million keys without reading them.
 * `live`: neither revoked nor disabled. Active now = live keys of later days + today's live keys not
 * yet expired (a short range of `api_keys_expires_at_idx`).
 */
export const keyCounts = pgTable(
  "key_counts",
  {
    ownerId: text("owner_id").notNull(),
    expiresOn: timestamp("expires_on", { withTimezone: true, mode: "string" }).notNull(),
    total: bigint("total", { mode: "number" }).notNull().default(0),
    live: bigint("live", { mode: "number" }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.ownerId, t.expiresOn] })],
);
