import { z } from "zod";
import { SCOPES } from "./scopes";
import { boundedInstant, LONGEST_GRACE_MS } from "./dates";
import { normalizeCidr } from "./ip";
import { GRANT, MAX_GRANTS, MAX_PERMISSION_LENGTH } from "./permissions";

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

/** One named limit of an issued key or an identity, e.g. `{ name: "daily", limit: 10000, durationSeconds: 86400 }`. */
export const namedRateLimitSchema = z.object({
  name: z
    .string()
    .min(1)
    .max(32)
    .regex(/^[a-z0-9_-]+$/, "Use lowercase letters, digits, _ and -")
    .describe("Names the limit in verify requests and refusals"),
  limit: z.number().int().min(1).max(1_000_000).describe("Requests allowed per window"),
  durationSeconds: z.number().int().min(1).max(86_400 * 31).describe("The window, in seconds (up to 31 days)"),
});
export type NamedRateLimitInput = z.infer<typeof namedRateLimitSchema>;

/** The name an issued key's `rateLimit` shorthand (and a migrated single limit) goes by. */
export const REQUESTS_LIMIT_NAME = "requests";

/** Up to 10 named limits, each name once; verification applies every one of them. */
export const ratelimitsSchema = z
  .array(namedRateLimitSchema)
  .max(10)
  .refine((limits) => new Set(limits.map((limit) => limit.name)).size === limits.length, "Each limit needs a name of its own");

/**
 * Whether `limit` is no looser than `bound`: it allows no more requests in one of its windows and
 * no more requests per second on average (compared exactly, by cross-multiplying). Both matter:
 * 1000/3600 has a lower rate than 5/1 but a far larger burst.
 */
export function rateLimitWithin(limit: z.infer<typeof rateLimitSchema>, bound: z.infer<typeof rateLimitSchema>): boolean {
  return limit.requests <= bound.requests && limit.requests * bound.windowSeconds <= bound.requests * limit.windowSeconds;
}

/** The most credits a key may hold (and the most a refill or an addition gives): far below 2^53, so balances stay exact numbers. */
export const MAX_CREDITS = 1_000_000_000_000;

export const creditsRefillSchema = z
  .object({
    interval: z.enum(["daily", "monthly"]).describe("`daily`: at 00:00 UTC; `monthly`: at 00:00 UTC of `refillDay`"),
    amount: z.number().int().min(1).max(MAX_CREDITS).describe("What `remaining` is set back to at each refill"),
    refillDay: z.number().int().min(1).max(31).optional().describe("Monthly only: the day of the month (default 1; the month's last day when it is shorter)"),
  })
  .refine((refill) => refill.interval === "monthly" || refill.refillDay === undefined, { message: "refillDay is for monthly refills", path: ["refillDay"] });

/** An issued key's usage credits: each valid verification takes its `cost`; none left = USAGE_EXCEEDED. */
export const creditsSchema = z.object({
  remaining: z.number().int().min(0).max(MAX_CREDITS).describe("Credits left now"),
  refill: creditsRefillSchema.optional().describe("Refill on a schedule; omitted = never refilled"),
});
export type CreditsInput = z.infer<typeof creditsSchema>;

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
export const NUL_MESSAGE = "Must not contain NUL (U+0000) characters";
export const nameSchema = z.string().trim().min(1, "Name is required").max(100).refine(storable, NUL_MESSAGE);
export const descriptionSchema = z.string().trim().max(500).refine(storable, NUL_MESSAGE);

export const apiIdSchema = z.string().regex(/^api_[0-9A-Za-z]{20}$/, "Not an API id (api_…)");
export const identityIdSchema = z.string().regex(/^idt_[0-9A-Za-z]{20}$/, "Not an identity id (idt_…)");
/** Your own id for a customer, kept exactly as given (no trimming: it must match what your systems hold). */
export const externalIdSchema = z.string().min(1, "externalId is required").max(255).refine(storable, NUL_MESSAGE);
/** Permissions granted to an issued key: names of its API's vocabulary, or wildcards over it (`orders.*`, `*`). */
export const grantsSchema = z
  .array(z.string().max(MAX_PERMISSION_LENGTH).regex(GRANT, "A permission is a name like orders.read, or a wildcard like orders.* or *"))
  .max(MAX_GRANTS)
  .transform((grants) => [...new Set(grants)]);
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
    /** Restrict this root key to these APIs (their keys, identities and verifications); omitted = every API its owner may see. */
    apiIds: z.array(apiIdSchema).min(1).max(100).optional(),
  })
  .refine((input) => !(input.expiresAt !== undefined && input.expiresInDays !== undefined), {
    message: "Give expiresAt or expiresInDays, not both",
    path: ["expiresInDays"],
  });
export type CreateKeyInput = z.infer<typeof createKeyInput>;

/** A key issued for an API (to one of your customers); its settings start from the API's defaults. */
export const createIssuedKeyInput = z
  .object({
    name: nameSchema.optional(),
    description: descriptionSchema.optional(),
    /** The customer, by your own id: their identity is created on first use. */
    externalId: externalIdSchema.optional(),
    identityId: identityIdSchema.optional(),
    permissions: grantsSchema.optional(),
    expiresAt: expiresAtSchema.nullable().optional(),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
    allowedIps: allowedIpsSchema.optional(),
    /** Shorthand for the named limit "requests"; null = none. */
    rateLimit: rateLimitSchema.nullable().optional(),
    ratelimits: ratelimitsSchema.optional(),
    meta: metadataSchema.optional(),
    recoverable: z.boolean().optional(),
    /** Usage credits; omitted = unlimited. */
    credits: creditsSchema.optional(),
  })
  .refine((input) => !(input.expiresAt !== undefined && input.expiresInDays !== undefined), {
    message: "Give expiresAt or expiresInDays, not both",
    path: ["expiresInDays"],
  })
  .refine((input) => !(input.externalId !== undefined && input.identityId !== undefined), {
    message: "Give externalId or identityId, not both",
    path: ["identityId"],
  })
  .refine((input) => !(input.rateLimit !== undefined && input.ratelimits !== undefined), {
    message: "Give ratelimits, or rateLimit (the limit named \"requests\"), not both",
    path: ["rateLimit"],
  });
export type CreateIssuedKeyInput = z.infer<typeof createIssuedKeyInput>;

export const updateKeyInput = z
  .object({
  name: nameSchema.optional(),
  description: descriptionSchema.optional(),
  scopes: z.array(scopeSchema).min(1).max(3).optional(),
  allowedIps: allowedIpsSchema.optional(),
  /** A root key's limit; for an issued key, shorthand for its named limit "requests" (null removes it). */
  rateLimit: rateLimitSchema.nullable().optional(),
  /** An issued key's named limits, replaced as a whole. */
  ratelimits: ratelimitsSchema.optional(),
  expiresAt: expiresAtSchema.nullable().optional(),
  metadata: metadataSchema.optional(),
  disabled: z.boolean().optional(),
  /** An issued key's permissions (root keys have scopes instead). */
  permissions: grantsSchema.optional(),
  /** An issued key's credits, replaced (balance and refill); null = unlimited. */
  credits: creditsSchema.nullable().optional(),
  /** Credits added to an issued key's balance as it stands (a due refill applied first); its refill is kept. */
  addCredits: z.number().int().min(1).max(MAX_CREDITS).optional(),
})
  .refine((input) => !(input.credits !== undefined && input.addCredits !== undefined), {
    message: "Give credits (to set them) or addCredits (to add to them), not both",
    path: ["addCredits"],
  })
  .refine((input) => !(input.rateLimit !== undefined && input.ratelimits !== undefined), {
    message: "Give ratelimits, or rateLimit (the limit named \"requests\"), not both",
    path: ["rateLimit"],
  });
export type UpdateKeyInput = z.infer<typeof updateKeyInput>;

export const KEY_LIST_ORDERS = ["newest", "oldest"] as const;
export const KEY_KINDS = ["root", "issued"] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

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
  /** Root keys (Keyward's own credentials) or keys issued for APIs. */
  kind: z.enum(KEY_KINDS).optional(),
  apiId: apiIdSchema.optional(),
  identityId: identityIdSchema.optional(),
  /** An identity's keys by your own id for it (with apiId, or across the APIs you see). */
  externalId: externalIdSchema.optional(),
});
export type ListKeysInput = z.input<typeof listKeysInput>;

export const rotateKeyInput = z.object({
  gracePeriodSeconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).default(0),
});
