import type { PermissionImplications } from "../../db/schema";

/**
 * An API's permissions: a vocabulary of names (`orders.read`), implications between them
 * (admin → write → read), and grants on keys, which may end in a wildcard (`orders.*`, or `*` for
 * everything). Pure, so the dashboard, the services and verification judge them alike.
 */

export const PERMISSION_NAME = /^[A-Za-z0-9_-]+(?:[.:][A-Za-z0-9_-]+)*$/;
export const GRANT = /^(?:\*|[A-Za-z0-9_-]+(?:[.:][A-Za-z0-9_-]+)*(?:[.:]\*)?)$/;
export const MAX_PERMISSION_LENGTH = 64;
export const MAX_VOCABULARY = 200;
export const MAX_GRANTS = 100;

export type PermissionQuery = string[] | { anyOf: string[] };

const isWildcard = (grant: string) => grant === "*" || grant.endsWith(".*") || grant.endsWith(":*");

/** Whether a grant (a name or a wildcard) covers a permission name. */
export function grantCovers(grant: string, name: string): boolean {
  if (grant === "*") return true;
  if (isWildcard(grant)) return name.startsWith(grant.slice(0, -1));
  return grant === name;
}

/** The grants plus everything they imply, transitively (wildcards imply nothing further). */
export function withImplied(grants: readonly string[], implications: PermissionImplications): Set<string> {
  const held = new Set(grants);
  const queue = [...grants];
  while (queue.length > 0) {
    for (const implied of implications[queue.pop()!] ?? []) {
      if (!held.has(implied)) {
        held.add(implied);
        queue.push(implied);
      }
    }
  }
  return held;
}

/** Whether the held grants cover `name`, directly, by wildcard or by implication. */
export function holds(held: ReadonlySet<string>, name: string): boolean {
  if (held.has(name)) return true;
  for (const grant of held) if (isWildcard(grant) && grantCovers(grant, name)) return true;
  return false;
}

/**
 * What a key lacks for a query: every missing name of a list (all must be held), or the whole
 * `anyOf` list when it holds none of them. Empty = the key may.
 */
export function missingPermissions(grants: readonly string[], query: PermissionQuery, implications: PermissionImplications): string[] {
  const held = withImplied(grants, implications);
  if (Array.isArray(query)) return query.filter((name) => !holds(held, name));
  return query.anyOf.some((name) => holds(held, name)) ? [] : [...query.anyOf];
}

/** Grants that are neither in the vocabulary nor a wildcard over some of it. */
export function unknownGrants(grants: readonly string[], vocabulary: readonly string[]): string[] {
  return grants.filter((grant) => (isWildcard(grant) ? !vocabulary.some((name) => grantCovers(grant, name)) : !vocabulary.includes(grant)));
}

/** Implications that name something outside the vocabulary. */
export function unknownImplications(implications: PermissionImplications, vocabulary: readonly string[]): string[] {
  return Object.entries(implications).flatMap(([name, implied]) => [name, ...implied]).filter((name) => !vocabulary.includes(name));
}
