import { z } from "zod";
import { prefixProblem } from "./key-format";
import { allowedIpsSchema, apiIdSchema, externalIdSchema, metadataSchema, nameSchema, NUL_MESSAGE, rateLimitSchema, ratelimitsSchema, storable } from "./key-schemas";
import { MAX_PERMISSION_LENGTH, MAX_VOCABULARY, PERMISSION_NAME } from "./permissions";

/** Input schemas for APIs and identities, shared by tRPC, REST and the OpenAPI document. */

export const prefixSchema = z
  .string()
  .max(32)
  .superRefine((prefix, ctx) => {
    const problem = prefixProblem(prefix);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

const permissionNameSchema = z.string().max(MAX_PERMISSION_LENGTH).regex(PERMISSION_NAME, "A permission is a name like orders.read: letters, digits, _ and -, in . or : separated parts");

export const vocabularySchema = z
  .array(permissionNameSchema)
  .min(1, "An API needs at least one permission")
  .max(MAX_VOCABULARY)
  .transform((names) => [...new Set(names)]);

/** name → the names it implies, e.g. { admin: ["write"], write: ["read"] }. */
export const implicationsSchema = z.record(permissionNameSchema, z.array(permissionNameSchema).max(MAX_VOCABULARY)).refine((value) => Object.keys(value).length <= MAX_VOCABULARY, "Too many implications");

export const apiDefaultsSchema = z
  .object({
    expiresInDays: z.number().int().min(1).max(3650).optional(),
    maxTtlDays: z.number().int().min(1).max(3650).optional(),
    rateLimit: rateLimitSchema.optional(),
    allowedIps: allowedIpsSchema.optional(),
    recoverable: z.boolean().optional(),
  })
  .strict()
  .refine((d) => d.expiresInDays === undefined || d.maxTtlDays === undefined || d.expiresInDays <= d.maxTtlDays, {
    message: "expiresInDays may not exceed maxTtlDays",
    path: ["expiresInDays"],
  });

export const createApiInput = z.object({
  name: nameSchema,
  prefix: prefixSchema,
  /** The permission vocabulary; default read, write, admin (admin → write → read). */
  permissions: vocabularySchema.optional(),
  implications: implicationsSchema.optional(),
  defaults: apiDefaultsSchema.optional(),
});
export type CreateApiInput = z.infer<typeof createApiInput>;

export const updateApiInput = z.object({
  name: nameSchema.optional(),
  permissions: vocabularySchema.optional(),
  implications: implicationsSchema.optional(),
  defaults: apiDefaultsSchema.optional(),
});
export type UpdateApiInput = z.infer<typeof updateApiInput>;

const queryText = z.string().trim().max(100).refine(storable, NUL_MESSAGE);

export const listApisInput = z.object({
  limit: z.number().int().min(1).max(100).default(50),
  cursor: z.string().max(200).optional(),
  q: queryText.optional(),
  includeArchived: z.boolean().default(false),
});
export type ListApisInput = z.input<typeof listApisInput>;

export const createIdentityInput = z.object({
  apiId: apiIdSchema,
  externalId: externalIdSchema,
  meta: metadataSchema.optional(),
  /** Limits shared by all the identity's keys. */
  ratelimits: ratelimitsSchema.optional(),
});
export type CreateIdentityInput = z.infer<typeof createIdentityInput>;

export const updateIdentityInput = z.object({
  externalId: externalIdSchema.optional(),
  meta: metadataSchema.optional(),
  /** Replaced as a whole. */
  ratelimits: ratelimitsSchema.optional(),
});
export type UpdateIdentityInput = z.infer<typeof updateIdentityInput>;

export const listIdentitiesInput = z.object({
  limit: z.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
  apiId: apiIdSchema.optional(),
  externalId: externalIdSchema.optional(),
  /** Substring of the externalId. */
  q: queryText.optional(),
});
export type ListIdentitiesInput = z.input<typeof listIdentitiesInput>;
