import { sql } from "drizzle-orm";
import { index, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { timestamps } from "./columns";
import { users } from "./users";
import type { RateLimit } from "./api-keys";

/** What a new key of an API gets when its creator does not say otherwise. */
export interface ApiKeyDefaults {
  /** Lifetime of a new key in days; undefined = never expires (unless maxTtlDays says otherwise). */
  expiresInDays?: number;
  /** Longest lifetime any key of this API may have, in days. */
  maxTtlDays?: number;
  rateLimit?: RateLimit;
  allowedIps?: string[];
  recoverable?: boolean;
}

/** The permission vocabulary's implications: a key holding the name also holds what it implies (admin → write → read). */
export type PermissionImplications = Record<string, string[]>;

export const DEFAULT_PERMISSIONS = ["read", "write", "admin"];
export const DEFAULT_IMPLICATIONS: PermissionImplications = { admin: ["write"], write: ["read"] };

/**
 * A service an operator protects with Keyward: its keys share a prefix (`acme_live_…`), draw
 * their permissions from its vocabulary and start from its defaults. Owned by the user who created
 * it; admins see every API. Deleting an API archives it (its keys stay readable, never valid).
 */
export const apis = pgTable(
  "apis",
  {
    /** `api_` + 20 base62 characters. */
    id: text("id").primaryKey(),
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    name: text("name").notNull(),
    prefix: text("prefix").notNull(),
    permissions: text("permissions").array().notNull().default(sql`'{read,write,admin}'::text[]`),
    implications: jsonb("implications").$type<PermissionImplications>().notNull().default(DEFAULT_IMPLICATIONS),
    defaults: jsonb("defaults").$type<ApiKeyDefaults>().notNull().default({}),
    archivedAt: timestamp("archived_at", { withTimezone: true, mode: "date" }),
    ...timestamps,
  },
  (t) => [
    // A prefix names one API forever: an archived API keeps its prefix, so its old keys are never mistaken for a new API's.
    uniqueIndex("apis_prefix_idx").on(t.prefix),
    index("apis_owner_created_idx").on(t.ownerId, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
  ],
);
