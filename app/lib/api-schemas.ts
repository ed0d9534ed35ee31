import type { Params } from "@remix-run/react";
import { z } from "zod";
import { ALERT_GROUPINGS, ALERT_STATUSES, ROLES, SEVERITIES } from "../../db/schema";
import { notFound } from "../services/errors.server";
import { parseAddress } from "./ip";
import { apiDefaultsSchema, createApiInput, createIdentityInput, listApisInput, listIdentitiesInput, updateApiInput, updateIdentityInput } from "./apis-schemas";
import { MAX_GRANTS, MAX_PERMISSION_LENGTH, PERMISSION_NAME } from "./permissions";
import {
  apiIdSchema,
  createIssuedKeyInput,
  creditsRefillSchema,
  createKeyInput,
  externalIdSchema,
  identityIdSchema,
  KEY_KINDS,
  KEY_STATUSES,
  keyIdSchema,
  listKeysInput,
  namedRateLimitSchema,
  rateLimitSchema,
  rotateKeyInput,
  scopeSchema,
  updateKeyInput,
  NUL_MESSAGE,
  storable,
  userIdSchema,
} from "./key-schemas";

/**
 * The REST API's schemas: request bodies the handlers validate with, and the responses they send.
 * The OpenAPI document (app/lib/openapi.server.ts) is generated from these, so the two cannot drift.
 */

// Requests ------------------------------------------------------------------------------------

/** The shared input schemas, strict: an unknown (or misspelt) field is a 422, never silently ignored. */
export const createKeyBody = createKeyInput.strict();
export const updateKeyBody = updateKeyInput.strict();
export const rotateKeyBody = rotateKeyInput.strict();
export const listKeysQuery = listKeysInput;
export const createIssuedKeyBody = createIssuedKeyInput.strict();
/** An API's keys: the list filters that make sense within one API (its kind and API are the path's). */
export const listApiKeysQuery = listKeysInput.pick({ limit: true, cursor: true, status: true, q: true, order: true, identityId: true, externalId: true });

export const createApiBody = createApiInput.strict();
export const updateApiBody = updateApiInput.strict();
export const listApisQuery = listApisInput.extend({
  includeArchived: z.stringbool().default(false).describe("`true` lists archived APIs too"),
});

export const createIdentityBody = createIdentityInput.strict();
export const updateIdentityBody = updateIdentityInput.strict();
export const listIdentitiesQuery = listIdentitiesInput;
/** `?externalId=` (with `apiId` when several of the caller's APIs have it): the one identity a PATCH or DELETE on /api/v1/identities acts on. */
export const identityByExternalIdQuery = z.object({
  externalId: externalIdSchema.describe("Your own id for the customer"),
  apiId: apiIdSchema.optional().describe("The API, when several of yours have an identity with this externalId"),
});

const permissionNames = z.array(z.string().min(1).max(MAX_PERMISSION_LENGTH).regex(PERMISSION_NAME, "A permission is a name like orders.read")).min(1).max(MAX_GRANTS);

export const verifyKeyInput = z
  .object({
    key: z.string().max(256).describe("The key your caller presented, exactly as received. Never put it in a URL."),
    apiId: apiIdSchema.optional().describe("The API your service is: a key of any other API is refused (WRONG_API)."),
    permissions: z
      .union([permissionNames, z.object({ anyOf: permissionNames }).strict()])
      .optional()
      .describe("What the request needs: a list whose every permission must be held, or { anyOf: [...] }. Wildcard grants (orders.*) and the API's implications count."),
    ip: z
      .string()
      .max(64)
      .refine((value) => parseAddress(value) !== null, "Not an IPv4 or IPv6 address")
      .optional()
      .describe("The address your caller came from. A key with an IP allowlist is refused (IP_NOT_ALLOWED) when it is missing."),
    cost: z.number().int().min(0).max(1_000_000).optional().describe("Credits this request costs a key that has credits (default 1; 0 checks without charging)."),
    ratelimits: z
      .array(
        z
          .object({
            name: namedRateLimitSchema.shape.name,
            cost: z.number().int().min(0).max(1_000_000).optional().describe("Requests this one counts as for the limit (default 1; 0 only reads it)"),
          })
          .strict(),
      )
      .max(20)
      .refine((named) => new Set(named.map((limit) => limit.name)).size === named.length, "Name each limit once")
      .optional()
      .describe(
        "The named limits to apply, each with its cost: the key's limit and its identity's limit of that name both apply. Omitted = every limit of the key and of its identity, cost 1. A name neither has is ignored (a limit some keys lack, such as a plan's daily limit, needs no special case).",
      ),
    tags: z
      .array(z.string().min(1).max(64).refine(storable, NUL_MESSAGE))
      .max(10)
      .optional()
      .describe("Up to 10 short labels kept with this verification in the key's request log, e.g. the path your service protects."),
  })
  .strict();
export type VerifyKeyInput = z.infer<typeof verifyKeyInput>;

/** Most entries in one report of guard admissions (the largest, with the longest addresses, stays within the 64 KiB body limit), and most admissions they add up to. */
export const MAX_REPORT_ENTRIES = 400;
export const MAX_REPORT_ADMISSIONS = 10_000;

/**
 * Requests a guard (the SDK's) admitted on a cached verdict, without a verification: each is
 * recorded as a VALID verification of its key, as if Keyward had verified it.
 */
export const reportVerificationsInput = z
  .object({
    admissions: z
      .array(
        z
          .object({
            keyId: keyIdSchema.describe("The key, as the verdict the guard cached named it"),
            at: z.iso.datetime({ offset: true }).describe("When the first of these requests was admitted. Taken as now when later than now, and as 24 hours ago when earlier."),
            ip: verifyKeyInput.shape.ip.describe("The address those requests came from, as the guard passed it to verify"),
            count: z.number().int().min(1).max(MAX_REPORT_ADMISSIONS).default(1).describe("How many requests of this key (and address) were admitted, from `at` on"),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_REPORT_ENTRIES)
      .refine((entries) => entries.reduce((sum, entry) => sum + entry.count, 0) <= MAX_REPORT_ADMISSIONS, `At most ${MAX_REPORT_ADMISSIONS} admissions per report; send the rest in another`)
      .describe(`Admissions by key, address and time; at most ${MAX_REPORT_ENTRIES} entries adding up to at most ${MAX_REPORT_ADMISSIONS} admissions`),
  })
  .strict();
export type ReportVerificationsInput = z.output<typeof reportVerificationsInput>;

export const reportedVerificationsSchema = z.object({ recorded: z.number().int().describe("Admissions recorded as VALID verifications") });

/** The `{id}` path parameter; a malformed id is "not found", exactly like a key the caller may not see. */
export function keyIdParam(params: Params): string {
  return idParam(params, keyIdSchema, "Key");
}

/** An API's `{id}`; malformed is "not found", like another owner's API. */
export function apiIdParam(params: Params): string {
  return idParam(params, apiIdSchema, "API");
}

/** An identity's `{id}`; malformed is "not found", like an identity of an API the caller may not see. */
export function identityIdParam(params: Params): string {
  return idParam(params, identityIdSchema, "Identity");
}

function idParam(params: Params, schema: z.ZodString, what: string): string {
  const parsed = schema.safeParse(params.id);
  if (!parsed.success) throw notFound(what);
  return parsed.data;
}

// Responses -----------------------------------------------------------------------------------

const dateTime = z.string().meta({ format: "date-time", description: "ISO 8601, UTC" });

export const apiKeySchema = z
  .object({
    id: keyIdSchema.describe("Public id; safe to log and show"),
    name: z.string(),
    description: z.string(),
    start: z.string().describe("The key's prefix (`kw_` for root keys, the API's for issued keys) and its first 4 random characters, for recognising it"),
    last4: z.string(),
    ownerId: userIdSchema,
    scopes: z.array(scopeSchema),
    allowedIps: z.array(z.string()).describe("IPv4/IPv6 addresses and CIDR ranges; empty = any address"),
    rateLimit: rateLimitSchema.nullable().describe("A root key's limit on Keyward's own API (null = the instance default); for an issued key, its limit named \"requests\" if it has one"),
    ratelimits: z.array(namedRateLimitSchema).describe("An issued key's named limits, each applied by verification; empty for root keys"),
    status: z.enum(KEY_STATUSES),
    expiresAt: dateTime.nullable(),
    disabledAt: dateTime.nullable(),
    revokedAt: dateTime.nullable(),
    createdAt: dateTime,
    updatedAt: dateTime,
    lastUsedAt: dateTime.nullable(),
    lastUsedIp: z.string().nullable(),
    requestCount: z.number().int(),
    metadata: z.record(z.string(), z.unknown()),
    recoverable: z.boolean().describe("An encrypted copy is kept, so an admin can reveal the key"),
    rotatedFrom: keyIdSchema.nullable().describe("The key this one replaced by rotation"),
    kind: z.enum(KEY_KINDS).describe("`root`: a Keyward management credential (scopes); `issued`: a key of one of your APIs, only ever verified (permissions)"),
    apiId: apiIdSchema.nullable().describe("The API an issued key belongs to; null for a root key"),
    identityId: identityIdSchema.nullable().describe("The identity (your customer) an issued key belongs to, if any"),
    permissions: z.array(z.string()).describe("An issued key's permissions (names of its API's vocabulary, or wildcards such as `orders.*`); empty for a root key"),
    apiIds: z.array(apiIdSchema).nullable().describe("The APIs a root key is restricted to; null = not restricted (always null for issued keys)"),
    credits: z
      .object({
        remaining: z.number().int().describe("Credits left now (a refill that fell due counts already)"),
        refill: creditsRefillSchema.nullable(),
        nextRefillAt: dateTime.nullable().describe("When the credits next refill; null without a refill"),
      })
      .nullable()
      .describe("An issued key's usage credits; null = unlimited (always null for root keys)"),
  })
  .describe("A key's public view: never its secret, digest or ciphertext");

const plaintextKey = z.string().describe("The key itself (`kw_…` for a root key, the API's prefix for an issued key; 64 characters). Shown once: store it now.");

export const keyListSchema = z.object({
  data: z.array(apiKeySchema),
  nextCursor: z.string().nullable().describe("Pass as `cursor` for the next page; null on the last page"),
  hasMore: z.boolean().describe("True exactly when `nextCursor` is not null: there is a next page"),
});

export const createdKeySchema = z.object({ key: plaintextKey, apiKey: apiKeySchema });

export const rotatedKeySchema = z
  .object({ key: plaintextKey, apiKey: apiKeySchema, previous: apiKeySchema })
  .describe("`key` and `apiKey` are the new key; `previous` is the old one, which keeps working until its expiresAt (now + grace period)");

export const revealedKeySchema = z.object({ key: z.string().describe("The recoverable key's plaintext; every reveal is audited") });

export const meSchema = z
  .object({
    apiKey: apiKeySchema,
    owner: z.object({ id: userIdSchema, email: z.string(), role: z.enum(ROLES) }),
    scopes: z.array(scopeSchema).describe("Effective scopes: the key's scopes ∩ what its owner's role allows today"),
  })
  .describe("The key making this request (`apiKey`), its owner and the scopes in force");

const verifiedKey = {
  keyId: keyIdSchema,
  apiId: apiIdSchema,
  name: z.string(),
  identity: z
    .object({ id: identityIdSchema, externalId: z.string(), meta: z.record(z.string(), z.unknown()) })
    .nullable()
    .describe("The customer the key was issued to, if any"),
  permissions: z.array(z.string()).describe("The key's grants, as stored (wildcards included)"),
  meta: z.record(z.string(), z.unknown()).describe("The key's metadata"),
  expiresAt: dateTime.nullable(),
  credits: z
    .object({ remaining: z.number().int().describe("Credits left after this verification; a refusal took nothing") })
    .nullable()
    .describe("The key's credits; null = the key has no credits (unlimited)"),
  ratelimits: z
    .array(
      z.object({
        name: z.string(),
        limit: z.number().int().describe("Requests per window"),
        remaining: z.number().int().describe("Requests left in the current window after this verification"),
        resetAt: dateTime.describe("When the window ends and the budget is full again"),
      }),
    )
    .describe("The named limits this verification applied (the key's, then its identity's), in order; empty when it was refused before the rate limits were reached"),
};

/** The verdicts a key of an API the caller manages can get besides VALID, INVALID and INSUFFICIENT_PERMISSIONS. */
const REFUSED_CODES = ["REVOKED", "DISABLED", "EXPIRED", "IP_NOT_ALLOWED", "WRONG_API", "USAGE_EXCEEDED"] as const;

export const verifyResultSchema = z
  .union([
    z
      .object({ valid: z.literal(false), code: z.literal("INVALID") })
      .strict()
      .describe("Malformed or unknown keys, root keys, and keys of an API the caller may not manage: nothing more is said"),
    z.object({ valid: z.literal(true), code: z.literal("VALID"), ...verifiedKey }).strict(),
    z
      .object({ valid: z.literal(false), code: z.literal("INSUFFICIENT_PERMISSIONS"), missing: z.array(z.string()).describe("What the request needed and the key lacks"), ...verifiedKey })
      .strict(),
    z
      .object({ valid: z.literal(false), code: z.literal("RATE_LIMITED"), ratelimit: z.string().describe("The first limit that refused the request"), ...verifiedKey })
      .strict()
      .describe("A named limit applied had too little left for its cost; `ratelimit` names the first in order. Every limit applied counted the request, refused or not; no credits were taken."),
    z
      .object({ valid: z.literal(false), code: z.enum(REFUSED_CODES), ...verifiedKey })
      .strict()
      .describe("WRONG_API: the key belongs to another of your APIs than `apiId`. USAGE_EXCEEDED: the key has fewer credits left than the request's `cost`; nothing was taken."),
  ])
  .describe("The verdict, a union on `code`. Only INVALID carries no details about the key.");

export const apiSchema = z
  .object({
    id: apiIdSchema,
    name: z.string(),
    prefix: z.string().describe("Every key of this API starts with `<prefix>_`"),
    ownerId: userIdSchema.describe("The user who created it; they and admins see it"),
    permissions: z.array(z.string()).describe("The permission vocabulary its keys are granted from"),
    implications: z.record(z.string(), z.array(z.string())).describe("name → the names it implies, e.g. `{ admin: [write], write: [read] }`"),
    defaults: apiDefaultsSchema.describe("Applied to keys issued without these settings"),
    archivedAt: dateTime.nullable().describe("Set by DELETE; an archived API's keys stay readable and verify as INVALID"),
    createdAt: dateTime,
    updatedAt: dateTime,
    keyCount: z.object({ total: z.number().int(), live: z.number().int().describe("Neither revoked nor expired") }),
  })
  .describe("A service you protect with keys of its own prefix");

export const apiListSchema = z.object({ data: z.array(apiSchema), nextCursor: z.string().nullable().describe("Pass as `cursor` for the next page; null on the last page"), hasMore: z.boolean().describe("True exactly when `nextCursor` is not null: there is a next page") });

export const identitySchema = z
  .object({
    id: identityIdSchema,
    apiId: apiIdSchema,
    externalId: z.string().describe("Your own id for the customer; unique within its API"),
    meta: z.record(z.string(), z.unknown()),
    ratelimits: z.array(namedRateLimitSchema).describe("Limits shared by all its keys: each verification of any of them takes from them"),
    createdAt: dateTime,
    updatedAt: dateTime,
    keyCount: z.object({ total: z.number().int(), live: z.number().int().describe("Neither revoked nor expired") }),
  })
  .describe("A customer of one of your APIs; has keys, never a password");

export const identityListSchema = z.object({ data: z.array(identitySchema), nextCursor: z.string().nullable().describe("Pass as `cursor` for the next page; null on the last page"), hasMore: z.boolean().describe("True exactly when `nextCursor` is not null: there is a next page") });

export const deletedIdentitySchema = z.object({
  id: identityIdSchema,
  deleted: z.literal(true),
  detachedKeys: z.number().int().describe("Its revoked or expired keys, which stay and no longer name it"),
});

export const identityKeysChangeSchema = z
  .object({ identityId: identityIdSchema, count: z.number().int(), keyIds: z.array(keyIdSchema) })
  .describe("The keys changed, in one transaction and one audit entry");

export const problemSchema = z
  .object({
    type: z.string().describe("URI reference to this code's explanation"),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().describe("Stable machine-readable code; see the error table"),
    requestId: z.string().describe("Also in the X-Request-Id header; quote it when reporting a problem"),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional().describe("The offending fields (validation_failed)"),
    requiredScope: scopeSchema.optional().describe("The scope that was missing (insufficient_scope)"),
  })
  .describe("RFC 9457 problem details (application/problem+json)");

// Users (REST user management, admin only) ----------------------------------------------------

/** A user's `{id}`; malformed is "not found", like an unknown user. */
export function userIdParam(params: Params): string {
  return idParam(params, userIdSchema, "User");
}

/** The bounds the user service checks again (MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH), said here for the document. */
const USER_EMAIL_MAX = 254;
const USER_PASSWORD_MAX = 1024;

export const createUserBody = z
  .object({
    email: z.string().max(USER_EMAIL_MAX).describe("Sign-in email; stored lower-cased, must be unique"),
    password: z.string().max(USER_PASSWORD_MAX).describe("At least 10 characters"),
    role: z.enum(ROLES).optional().describe("Default: member"),
  })
  .strict();

export const updateUserBody = z
  .object({
    role: z.enum(ROLES).optional().describe("admin or member; the last active admin cannot lose it"),
    disabled: z.boolean().optional().describe("true disables the user (their sessions end, their keys stop authenticating); false enables them again"),
  })
  .strict()
  .refine((patch) => patch.role !== undefined || patch.disabled !== undefined, { message: "Give role or disabled", path: ["role"] });

export const resetPasswordBody = z
  .object({ password: z.string().max(USER_PASSWORD_MAX).optional().describe("The new password (at least 10 characters); omit it to have one generated") })
  .strict();

export const userSchema = z
  .object({
    id: userIdSchema,
    email: z.string(),
    role: z.enum(ROLES),
    disabledAt: dateTime.nullable().describe("When the user was disabled; null = active"),
    createdAt: dateTime,
  })
  .describe("A person who signs in to the dashboard and owns root keys; never the password");

export const userListSchema = z.object({ data: z.array(userSchema).describe("Every user, by email (not paginated)") });

export const passwordResetSchema = z
  .object({
    user: userSchema,
    password: z.string().describe("The new password, shown only in this response; give it to the user over a safe channel"),
    generated: z.boolean().describe("true when Keyward generated the password"),
  })
  .describe("The user's password was replaced and every session of theirs ended");

// Security, alerts and meta ---------------------------------------------------------------------

const instant = z.string().describe("ISO 8601, UTC");
const details = z.record(z.string(), z.unknown());

export const securityEventSchema = z
  .object({
    id: z.string().describe("`sev_…`"),
    occurredAt: instant.describe("When it happened (the first occurrence of an aggregated row); ISO 8601, UTC"),
    kind: z.string().describe("What happened, e.g. `invalid_key`, `credentials_in_url`, `rate_limited`, `key_revealed`"),
    severity: z.enum(SEVERITIES),
    keyId: keyIdSchema.nullable().describe("The key involved, when one was identified"),
    clientIp: z.string().nullable(),
    count: z.number().int().min(1).describe("Occurrences folded into this row (one per minute per kind, key and address for high-volume kinds)"),
    details: details.describe("Kind-specific facts, never a key's plaintext"),
    firstSeen: instant,
    lastSeen: instant,
  })
  .describe("A security event: something a defender wants to know about");

const page = <T extends z.ZodType>(item: T) =>
  z.object({
    data: z.array(item),
    nextCursor: z.string().nullable().describe("Pass as `cursor` for the next page; null on the last"),
    hasMore: z.boolean().describe("True exactly when `nextCursor` is not null: there is a next page"),
  });

export const securityEventPageSchema = page(securityEventSchema);

export const alertSchema = z
  .object({
    id: z.string().regex(/^alr_[0-9A-Za-z]{20}$/),
    ruleId: z.string().describe("The alert rule that fired"),
    ruleName: z.string(),
    subject: z.string().describe("What the rule grouped by: a client address or a key id"),
    subjectType: z.enum(ALERT_GROUPINGS),
    severity: z.enum(SEVERITIES),
    status: z.enum(ALERT_STATUSES),
    keyId: keyIdSchema.nullable(),
    firstFiredAt: instant,
    lastFiredAt: instant,
    count: z.number().int().min(1).describe("Times the rule fired while this alert was unresolved"),
    details: details,
    ackedBy: z.string().nullable().describe("The user who acknowledged it"),
    ackedAt: instant.nullable(),
    resolvedBy: z.string().nullable().describe("The user who resolved it"),
    resolvedAt: instant.nullable(),
  })
  .describe("An alert opened by an alert rule");

export const alertPageSchema = page(alertSchema);

export const alertWebhookPayloadSchema = z
  .object({ type: z.literal("alert.opened"), alert: alertSchema })
  .describe("What the alert webhook receives when an alert opens");

export const healthSchema = z.object({ status: z.literal("ok") }).describe("The process answers");

export const readySchema = z
  .object({
    status: z.enum(["ready", "unavailable"]).describe("`ready` with 200, `unavailable` with 503"),
    database: z.enum(["pglite", "postgres"]).describe("Which database this instance uses"),
  })
  .describe("Whether the database answers");

export const openApiDocumentSchema = z
  .looseObject({
    openapi: z.string().describe("`3.1.0`"),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.record(z.string(), z.unknown())),
  })
  .describe("An OpenAPI 3.1 document: this one");
