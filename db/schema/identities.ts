import { index, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { timestamps } from "./columns";
import { apis } from "./apis";
import type { NamedRateLimit } from "./api-keys";

/**
 * A customer of an API, named by the operator's own id (`externalId`, unique within the API).
 * Identities have no password and never sign in: they are who an issued key belongs to.
 */
export const identities = pgTable(
  "identities",
  {
    /** `idt_` + 20 base62 characters. */
    id: text("id").primaryKey(),
    apiId: text("api_id")
      .notNull()
      .references(() => apis.id, { onDelete: "restrict" }),
    externalId: text("external_id").notNull(),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    /** Named limits shared by all the identity's keys (each verification of any of them takes from them). */
    ratelimits: jsonb("ratelimits").$type<NamedRateLimit[]>().notNull().default([]),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("identities_api_external_idx").on(t.apiId, t.externalId),
    index("identities_api_created_idx").on(t.apiId, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
  ],
);
