import type { RateLimit } from "../../db/schema";
import type { Role, Scope } from "../lib/scopes";
import { grants, ROLE_SCOPES } from "../lib/scopes";
import { KeywardError } from "./errors.server";

/** Where a request came from, carried into audit entries. */
export interface RequestMeta {
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
}

/** What the key an actor acts through is limited to; every key it creates or changes must stay within these. */
export interface KeyRestrictions {
  allowedIps: readonly string[];
  /** null = the operator's default rate limit. */
  rateLimit: RateLimit | null;
  expiresAt: Date | null;
  /** The APIs a restricted root key may act on; null (or absent) = every API its owner may see. */
  apiIds?: readonly string[] | null;
}

/**
 * Who is acting. A user acts through a session (all of their role's scopes) or through
 * one of their API keys (that key's effective scopes and restrictions); the system actor is the CLI and seed.
 */
export type Actor =
  | ({ kind: "user"; userId: string; role: Role; scopes: readonly Scope[]; meta?: RequestMeta } & (
      | { keyId?: undefined; restrictions?: undefined }
      | { keyId: string; restrictions: KeyRestrictions }
    ))
  | { kind: "system"; label: string; meta?: RequestMeta };

export const systemActor = (label = "cli"): Actor => ({ kind: "system", label });

export function sessionActor(user: { id: string; role: Role }, meta?: RequestMeta): Actor {
  return { kind: "user", userId: user.id, role: user.role, scopes: ROLE_SCOPES[user.role], meta };
}

/** A user acting through one of their keys: the key's effective scopes (key ∩ owner's role today) and its restrictions. */
export function keyActor(
  key: {
    id: string;
    ownerId: string;
    ownerRole: Role;
    scopes: readonly Scope[];
    allowedIps: readonly string[];
    rateLimit: RateLimit | null;
    expiresAt: string | null;
    rootApiIds?: readonly string[] | null;
  },
  meta?: RequestMeta,
): Actor {
  const restrictions = { allowedIps: key.allowedIps, rateLimit: key.rateLimit, expiresAt: key.expiresAt === null ? null : new Date(key.expiresAt), apiIds: key.rootApiIds ?? null };
  return { kind: "user", userId: key.ownerId, role: key.ownerRole, scopes: key.scopes, keyId: key.id, restrictions, meta };
}

export function actorScopes(actor: Actor): readonly Scope[] {
  return actor.kind === "system" ? ROLE_SCOPES.admin : actor.scopes;
}

/** Admin scope is what lets an actor see and manage everyone's keys. */
export function seesEveryone(actor: Actor): boolean {
  return grants(actorScopes(actor), "admin");
}

export function actorUserId(actor: Actor): string | null {
  return actor.kind === "user" ? actor.userId : null;
}

export function requireScope(actor: Actor, scope: Scope): void {
  if (!grants(actorScopes(actor), scope)) {
    throw new KeywardError("insufficient_scope", `This action needs the "${scope}" scope`, { required: scope });
  }
}

/** The APIs the actor is restricted to (a root key restricted to some APIs); null = not restricted. */
export function actorApiIds(actor: Actor): readonly string[] | null {
  return actor.kind === "user" ? (actor.restrictions?.apiIds ?? null) : null;
}

/** Whether the actor may see something of `ownerId`'s within API `apiId` (null for what belongs to no API). */
export function mayAccess(actor: Actor, ownerId: string, apiId: string | null): boolean {
  if (!seesEveryone(actor) && actorUserId(actor) !== ownerId) return false;
  const apiIds = actorApiIds(actor);
  return apiIds === null || (apiId !== null && apiIds.includes(apiId));
}
