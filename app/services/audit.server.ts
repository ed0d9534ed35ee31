import type { Database } from "../../db/client.server";
import { auditEvents } from "../../db/schema";
import { newId } from "../lib/ids";
import type { Actor } from "./actor.server";

/** A database or an open transaction: audit entries are written inside the change's own transaction. */
export type Executor = Pick<Database, "insert">;

export interface AuditEntry {
  action: string;
  targetType: "api_key" | "user" | "session" | "settings";
  targetId: string;
  details?: Record<string, unknown>;
}

export async function recordAudit(tx: Executor, actor: Actor, entry: AuditEntry, at: Date): Promise<void> {
  await tx.insert(auditEvents).values({
    id: newId("aud"),
    occurredAt: at,
    actorType: actor.kind === "system" ? "system" : actor.keyId ? "api_key" : "user",
    actorId: actor.kind === "user" ? actor.userId : null,
    actorKeyId: actor.kind === "user" ? (actor.keyId ?? null) : null,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    clientIp: actor.meta?.ip ?? null,
    userAgent: actor.meta?.userAgent ?? null,
    requestId: actor.meta?.requestId ?? null,
    details: actor.kind === "system" ? { via: actor.label, ...entry.details } : (entry.details ?? {}),
  });
}
