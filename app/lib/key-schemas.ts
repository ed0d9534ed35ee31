import { z } from "zod";
import { SCOPES } from "./scopes";
import { boundedInstant, LONGEST_GRACE_MS } from "./dates";
import { normalizeCidr } from "./ip";

/** Input schemas shared by tRPC, the REST API and its OpenAPI document: one definition per rule. */

export const scopeSchema = z.enum(SCOPES);
export const KEY_STATUSES = ["active", "disabled", "expired", "revoked"] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];
export const keyStatusFilterSchema = z.enum([...KEY_STATUSES, "all"]);

export const MAX_GRACE_SECONDS = LONGEST_GRACE_MS / 1000;
export const EXPIRY_PRESET_DAYS = [7, 30, 90, 365] as const;

export const keyIdSchema = z.string().regex(/^key_[0-9A-Za-z]{20}$/, "Not a key id (key_…)");
export const userIdSchema = z.string().regex(/^usr_[0-9A-Za-z]{20}$/, "Not a user id (usr_…)");

export const rateLimitSchema = z.object({
  requests: z.number().int().min(1).max(1_000_000),
  windowSeconds: z.number().int().min(1).max(86_400),
});

/**
 * Whether `limit` is no looser than `bound`: it allows no more requests in one of its windows and
 * no more requests per second on average (compared exactly, by cross-multiplying). Both matter:
 * 1000/3600 has a lower rate than 5/1 but a far larger burst.
 */
export function rateLimitWithin(limit: z.infer<typeof rateLimitSchema>, bound: z.infer<typeof rateLimitSchema>): boolean {
  return limit.requests <= bound.requests && limit.requests * bound.windowSeconds <= bound.requests * limit.windowSeconds;
}

export const allowedIpsSchema = z
  .array(z.string().max(64))
  .max(100)
  .transform((entries, ctx) => {
    const normalized: string[] = [];
    entries.forEach((entry, index) => {
      const result = normalizeCidr(entry);
      if (result.ok) normalized.push(result.value);
      else ctx.addIssue({ code: "custom", path: [index], message: result.error });
    });
    return [...new Set(normalized)];
  });

export const MAX_METADATA_DEPTH = 8;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Walks JSON without recursion (so absurd nesting cannot overflow the stack) and reports what
 * the database would refuse: nesting past the limit, or unpaired surrogates (invalid in jsonb).
 */
function metadataProblem(value: unknown): string | null {
  const stack: { item: unknown; depth: number }[] = [{ item: value, depth: 1 }];
  while (stack.length > 0) {
    const { item, depth } = stack.pop()!;
    if (typeof item === "string") {
      if (LONE_SURROGATE.test(item)) return "Metadata has a string with an unpaired UTF-16 surrogate";
    } else if (item !== null && typeof item === "object") {
      if (depth > MAX_METADATA_DEPTH) return `Metadata may nest at most ${MAX_METADATA_DEPTH} levels`;
      for (const [key, child] of Object.entries(item)) {
        if (LONE_SURROGATE.test(key)) return "Metadata has a key with an unpaired UTF-16 surrogate";
        stack.push({ item: child, depth: depth + 1 });
      }
    }
  }
  return null;
}

export const metadataSchema = z.record(z.string().max(100), z.unknown()).superRefine((value, ctx) => {
  const problem = metadataProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
  else if (JSON.stringify(value).length > 4096) ctx.addIssue({ code: "custom", message: "Metadata must be at most 4 KiB of JSON" });
});

/** Postgres cannot store or compare U+0000 in text: refused at the edge with a field error rather than by the database. */
export const storable = (text: string) => !text.includes("\u0000");
const NUL_MESSAGE = "Must not contain NUL (U+0000) characters";
const nameSchema = z.string().trim().min(1, "Name is required").max(100).refine(storable, NUL_MESSAGE);
const descriptionSchema = z.string().trim().max(500).refine(storable, NUL_MESSAGE);
const expiresAtSchema = boundedInstant();

export const createKeyInput = z
  .object({
    name: nameSchema,
    description: descriptionSchema.optional(),
    scopes: z.array(scopeSchema).min(1, "Choose at least one scope").max(3),
    /** Absolute expiry (ISO 8601); null = never (when the policy allows it). */
    expiresAt: expiresAtSchema.nullable().optional(),
    /** Relative expiry, e.g. the presets 7/30/90/365. */
    expiresInDays: z.number().int().min(1).max(3650).optional(),
    allowedIps: allowedIpsSchema.optional(),
    rateLimit: rateLimitSchema.nullable().optional(),
    metadata: metadataSchema.optional(),
    /** Admin only: create the key for another user. */
    ownerId: userIdSchema.optional(),
    /** Keep an encrypted copy so an admin can reveal it later. */
    recoverable: z.boolean().optional(),
  })
  .refine((input) => !(input.expiresAt !== undefined && input.expiresInDays !== undefined), {
    message: "Give expiresAt or expiresInDays, not both",
    path: ["expiresInDays"],
  });
export type CreateKeyInput = z.infer<typeof createKeyInput>;

export const updateKeyInput = z.object({
  name: nameSchema.optional(),
  description: descriptionSchema.optional(),
  scopes: z.array(scopeSchema).min(1).max(3).optional(),
  allowedIps: allowedIpsSchema.optional(),
  rateLimit: rateLimitSchema.nullable().optional(),
  expiresAt: expiresAtSchema.nullable().optional(),
  metadata: metadataSchema.optional(),
  disabled: z.boolean().optional(),
});
export type UpdateKeyInput = z.infer<typeof updateKeyInput>;

export const KEY_LIST_ORDERS = ["newest", "oldest"] as const;

export const listKeysInput = z.object({
  limit: z.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
  status: keyStatusFilterSchema.default("all"),
  ownerId: userIdSchema.optional(),
  q: z.string().trim().max(100).refine(storable, NUL_MESSAGE).optional(),
  /** Keys holding this scope (exactly; admin keys are not listed as read keys). */
  scope: scopeSchema.optional(),
  /** By creation time; both orders page by cursor from the same index. */
  order: z.enum(KEY_LIST_ORDERS).default("newest"),
});
export type ListKeysInput = z.input<typeof listKeysInput>;

export const rotateKeyInput = z.object({
  gracePeriodSeconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).default(0),
});
