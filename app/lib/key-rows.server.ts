import type { Actor } from "../services/actor.server";
import { isKeywardError } from "../services/errors.server";
import type { Keyward } from "../services/keyward.server";
import type { ApiKeyView } from "../services/keys.server";

/** An identity deleted since its key was listed shows as none; any other failure is the page's. */
function goneAsNull(error: unknown): null {
  if (isKeywardError(error) && error.code === "not_found") return null;
  throw error;
}

/** The API and identity of each listed key, by name, for the keys table's links. */
export async function describeKeyRows(
  keyward: Pick<Keyward, "apis" | "identities">,
  actor: Actor,
  keys: ApiKeyView[],
): Promise<Map<string, { api: { id: string; name: string } | null; identity: { id: string; externalId: string } | null }>> {
  const apiIds = [...new Set(keys.flatMap((key) => (key.apiId ? [key.apiId] : [])))];
  const identityIds = [...new Set(keys.flatMap((key) => (key.identityId ? [key.identityId] : [])))];
  const [apis, identities] = await Promise.all([
    Promise.all(apiIds.map((id) => keyward.apis.get(actor, id).catch(goneAsNull))),
    Promise.all(identityIds.map((id) => keyward.identities.get(actor, id).catch(goneAsNull))),
  ]);
  const apiById = new Map(apis.flatMap((api) => (api ? [[api.id, { id: api.id, name: api.name }] as const] : [])));
  const identityById = new Map(identities.flatMap((identity) => (identity ? [[identity.id, { id: identity.id, externalId: identity.externalId }] as const] : [])));
  return new Map(keys.map((key) => [key.id, { api: (key.apiId && apiById.get(key.apiId)) || null, identity: (key.identityId && identityById.get(key.identityId)) || null }]));
}
