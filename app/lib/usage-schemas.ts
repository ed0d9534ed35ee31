import { z } from "zod";
import { LOW_CREDITS_TEXT } from "./credits";
import { boundedInstant } from "./dates";
import { apiIdSchema, identityIdSchema, keyIdSchema } from "./key-schemas";

/** Input schemas of the usage reads, shared by tRPC and the REST API (the REST routes turn numeric query parameters into numbers). */

export const GRANULARITIES = ["minute", "hour", "day"] as const;
export type Granularity = (typeof GRANULARITIES)[number];


export const usageRangeInput = z.object({
  /** Inclusive; defaults to 24 hours before `to`. */
  from: boundedInstant().optional(),
  /** Exclusive; defaults to now. */
  to: boundedInstant().optional(),
});

export const usageSeriesInput = usageRangeInput.extend({
  granularity: z.enum(GRANULARITIES).default("hour"),
});
export type UsageSeriesInput = z.input<typeof usageSeriesInput>;

export const usageSummaryInput = usageRangeInput.extend({
  /** How many of the busiest keys to list. */
  top: z.number().int().min(1).max(100).default(10),
});
export type UsageSummaryInput = z.input<typeof usageSummaryInput>;

export const requestLogInput = z.object({
  limit: z.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
export type RequestLogInput = z.input<typeof requestLogInput>;

/** The same, with the key id, for tRPC procedures. */
export const keyUsageSeriesInput = usageSeriesInput.extend({ id: keyIdSchema });
export const keyRequestLogInput = requestLogInput.extend({ id: keyIdSchema });

/** Response shapes, for the OpenAPI document (the services' UsageSeries, UsageSummary, request log page). */
const counts = {
  requests: z.number().int(),
  success: z.number().int(),
  denied: z.number().int(),
  rateLimited: z.number().int(),
  errors: z.number().int(),
};

/** Verifications by outcome: every outcome code but INVALID (which names no key), zeros included. */
const outcomeCounts = z.record(z.string(), z.number().int()).describe("Verifications per outcome code: VALID and each refusal code");

const verificationSeries = {
  points: z.array(z.object({ at: z.iso.datetime(), total: z.number().int(), outcomes: outcomeCounts })),
  totals: z.object({ total: z.number().int(), outcomes: outcomeCounts }),
};

export const verificationUsageSchema = z.object({
  granularity: z.enum(GRANULARITIES),
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  ...verificationSeries,
});

const topKey = z.object({ keyId: keyIdSchema, name: z.string().nullable(), total: z.number().int(), refused: z.number().int().describe("Every outcome but VALID") });
const topIdentity = z.object({ identityId: z.string(), externalId: z.string().nullable().describe("Null once the identity was deleted"), total: z.number().int(), refused: z.number().int().describe("Every outcome but VALID") });

export const apiVerificationUsageSchema = verificationUsageSchema.extend({
  topKeys: z.array(topKey).describe("The most verified keys in the range, most first"),
  topKeysByRefusals: z.array(topKey).describe("The most refused keys in the range (refused at least once), most first"),
  topIdentities: z.array(topIdentity).describe("The identities whose keys were verified most in the range, most first"),
  topIdentitiesByRefusals: z.array(topIdentity).describe("The identities whose keys were refused most in the range, most first"),
  keysNearCreditEnd: z
    .array(z.object({ keyId: keyIdSchema, name: z.string(), identityId: z.string().nullable(), remaining: z.number().int(), refillAmount: z.number().int().nullable() }))
    .describe(`Live keys with credits that have ${LOW_CREDITS_TEXT}, now; fewest first (up to 10)`),
});

export const usageSeriesSchema = z.object({
  keyId: keyIdSchema,
  granularity: z.enum(GRANULARITIES),
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  points: z.array(z.object({ t: z.iso.datetime(), ...counts })),
  totals: z.object(counts),
  lastUsedAt: z.iso.datetime().nullable(),
  lastUsedIp: z.string().nullable(),
  verifications: z.object(verificationSeries).optional().describe("An issued key's verifications by outcome over the same buckets"),
});

export const usageSummarySchema = z.object({
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  totals: z.object(counts),
  activeKeys: z.number().int(),
  topKeys: z.array(z.object({ keyId: keyIdSchema, name: z.string().nullable(), ownerId: z.string().nullable(), ...counts })),
});

export const requestLogPageSchema = z.object({
  data: z.array(
    z.object({
      id: z.number().int(),
      occurredAt: z.iso.datetime(),
      method: z.string(),
      path: z.string(),
      status: z.number().int(),
      clientIp: z.string().nullable(),
      durationMs: z.number(),
      userAgent: z.string().nullable(),
      requestId: z.string().nullable(),
      outcome: z.string().nullable().describe("A verification of an issued key: VALID or the refusal's code"),
      tags: z.array(z.string()).nullable().describe("The tags the verifying service sent"),
      apiId: apiIdSchema.nullable(),
      identityId: identityIdSchema.nullable(),
      rootKeyId: keyIdSchema.nullable().describe("The root key that asked for the verification"),
    }),
  ),
  nextCursor: z.string().nullable(),
  hasMore: z.boolean().describe("True exactly when `nextCursor` is not null: there is a next page"),
});
