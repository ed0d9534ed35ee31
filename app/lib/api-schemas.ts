import type { Params } from "@remix-run/react";
import { z } from "zod";
import { ROLES } from "../../db/schema";
import { notFound } from "../services/errors.server";
import { parseAddress } from "./ip";
import { MAX_GRANTS, MAX_PERMISSION_LENGTH, PERMISSION_NAME } from "./permissions";
import { apiIdSchema, createKeyInput, KEY_STATUSES, keyIdSchema, listKeysInput, rateLimitSchema, rotateKeyInput, scopeSchema, updateKeyInput, userIdSchema } from "./key-schemas";

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
  })
  .strict();
export type VerifyKeyInput = z.infer<typeof verifyKeyInput>;

/** The `{id}` path parameter; a malformed id is "not found", exactly like a key the caller may not see. */
export function keyIdParam(params: Params): string {
  const parsed = keyIdSchema.safeParse(params.id);
  if (!parsed.success) throw notFound("Key");
  return parsed.data;
}

// Responses -----------------------------------------------------------------------------------

const dateTime = z.string().meta({ format: "date-time", description: "ISO 8601, UTC" });

export const apiKeySchema = z
  .object({
    id: keyIdSchema.describe("Public id; safe to log and show"),
    name: z.string(),
    description: z.string(),
    start: z.string().describe("`kw_` and the first 4 characters of the key, for recognising it"),
    last4: z.string(),
    ownerId: userIdSchema,
    scopes: z.array(scopeSchema),
    allowedIps: z.array(z.string()).describe("IPv4/IPv6 addresses and CIDR ranges; empty = any address"),
    rateLimit: rateLimitSchema.nullable(),
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
  })
  .describe("A key's public view: never its secret, digest or ciphertext");

const plaintextKey = z.string().describe("The key itself (`kw_…`, 64 characters). Shown once: store it now.");

export const keyListSchema = z.object({
  data: z.array(apiKeySchema),
  nextCursor: z.string().nullable().describe("Pass as `cursor` for the next page; null on the last page"),
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

export const verifyResultSchema = z.object({
  valid: z.boolean(),
  code: z
    .enum(["VALID", "INVALID", "REVOKED", "DISABLED", "EXPIRED", "IP_NOT_ALLOWED", "INSUFFICIENT_SCOPE", "RATE_LIMITED"])
    .describe("INVALID says nothing more: the other fields are absent. RATE_LIMITED appears once per-key limits are configured."),
  keyId: keyIdSchema.optional(),
  ownerId: userIdSchema.optional(),
  name: z.string().optional(),
  scopes: z.array(scopeSchema).optional().describe("Effective scopes"),
  expiresAt: dateTime.nullable().optional(),
  meta: z.record(z.string(), z.unknown()).optional().describe("The key's metadata"),
});

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
