import { z } from "zod";
import { ACTOR_TYPES } from "../../db/schema/audit-events";
import { boundedInstant } from "./dates";
import { keyIdSchema } from "./key-schemas";

/** Input and output schemas of the audit reads, shared by tRPC, the REST API and the dashboard. */

const identifier = z.string().trim().min(1).max(64).regex(/^[\w.:-]+$/, "Letters, digits and . _ : - only");

export const auditFilterInput = z.object({
  /** An exact action (`key.revoked`) or a family ending in `.*` (`key.*`). */
  action: z.string().trim().min(1).max(64).regex(/^[a-z_]+(\.[a-z_]+)*(\.\*)?$/, "An action such as key.revoked, or a family such as key.*").optional(),
  /** A user id (`usr_…`) or the id of the key it acted through (`key_…`). */
  actorId: identifier.optional(),
  targetId: identifier.optional(),
  /** Inclusive. */
  from: boundedInstant().optional(),
  /** Exclusive. */
  to: boundedInstant().optional(),
});
export type AuditFilterInput = z.input<typeof auditFilterInput>;

export const auditListInput = auditFilterInput.extend({
  limit: z.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
export type AuditListInput = z.input<typeof auditListInput>;

export const AUDIT_EXPORT_FORMATS = ["csv", "ndjson"] as const;
export type AuditExportFormat = (typeof AUDIT_EXPORT_FORMATS)[number];

export const auditExportInput = auditFilterInput.extend({ format: z.enum(AUDIT_EXPORT_FORMATS).default("ndjson") });

export const keyAuditInput = z.object({
  keyId: keyIdSchema,
  limit: z.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

export const auditEntrySchema = z.object({
  id: z.string(),
  occurredAt: z.iso.datetime(),
  actorType: z.enum(ACTOR_TYPES),
  actorId: z.string().nullable().describe("The acting user (for a key, its owner); null for the system/CLI"),
  actorEmail: z.string().nullable(),
  actorKeyId: z.string().nullable().describe("The API key the user acted through, if any"),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string(),
  clientIp: z.string().nullable(),
  userAgent: z.string().nullable(),
  requestId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditEntryView = z.infer<typeof auditEntrySchema>;

export const auditPageSchema = z.object({
  data: z.array(auditEntrySchema),
  nextCursor: z.string().nullable().describe("Pass as `cursor` for the next page; null on the last page"),
  hasMore: z.boolean().describe("True exactly when `nextCursor` is not null: there is a next page"),
});
