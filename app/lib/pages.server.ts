import type { AppLoadContext } from "@remix-run/node";
import type { Actor } from "../services/actor.server";
import { isKeywardError } from "../services/errors.server";
import { apiIdSchema, identityIdSchema } from "./key-schemas";

/** Loaders of the API and identity pages: what the signed-in user may see, or a 404 page for anything else. */

const notFound = (what: string) => new Response(`No ${what} with this id, or it is not yours to see.`, { status: 404 });

function notFoundAs(what: string) {
  return (error: unknown): never => {
    if (isKeywardError(error) && error.code === "not_found") throw notFound(what);
    throw error;
  };
}

export function findApi(context: AppLoadContext, actor: Actor, id: string | undefined) {
  const parsed = apiIdSchema.safeParse(id);
  if (!parsed.success) throw notFound("API");
  return context.keyward.apis.get(actor, parsed.data).catch(notFoundAs("API"));
}

export function findIdentity(context: AppLoadContext, actor: Actor, id: string | undefined) {
  const parsed = identityIdSchema.safeParse(id);
  if (!parsed.success) throw notFound("identity");
  return context.keyward.identities.get(actor, parsed.data).catch(notFoundAs("identity"));
}
