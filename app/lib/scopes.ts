import { SCOPES, type Role, type Scope } from "../../db/schema";

export { SCOPES, type Scope, type Role };

const RANK: Record<Scope, number> = { read: 1, write: 2, admin: 3 };

/** Scopes each role may hold; a key never exceeds its owner's role. */
export const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  member: ["read", "write"],
  admin: ["read", "write", "admin"],
};

/** Scopes are hierarchical: admin ⊇ write ⊇ read. */
export function grants(held: readonly Scope[], needed: Scope): boolean {
  return held.some((scope) => RANK[scope] >= RANK[needed]);
}

/** Every scope implied by `held`, e.g. ["write"] → ["read", "write"]. */
export function expandScopes(held: readonly Scope[]): Scope[] {
  return SCOPES.filter((scope) => grants(held, scope));
}

/** What a key may do today: its scopes ∩ what its owner's role allows now. */
export function effectiveScopes(keyScopes: readonly Scope[], ownerRole: Role): Scope[] {
  const allowed = ROLE_SCOPES[ownerRole];
  return expandScopes(keyScopes).filter((scope) => allowed.includes(scope));
}
