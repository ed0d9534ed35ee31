import { z } from "zod";
import { boundedInstant } from "./dates";
import { keyIdSchema } from "./key-schemas";

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

export const usageSeriesSchema = z.object({
  keyId: keyIdSchema,
  granularity: z.enum(GRANULARITIES),
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  points: z.array(z.object({ t: z.iso.datetime(), ...counts })),
  totals: z.object(counts),
  lastUsedAt: z.iso.datetime().nullable(),
  lastUsedIp: z.string().nullable(),
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
    }),
  ),
  nextCursor: z.string().nullable(),
});
