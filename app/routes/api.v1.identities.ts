import { withApiKey } from "~/lib/api-key-middleware.server";
import { idempotent } from "~/lib/idempotency.server";
import { createIdentityBody, identityByExternalIdQuery, listIdentitiesQuery, updateIdentityBody } from "~/lib/api-schemas";
import { apiRoute, json, parseInput, queryObject, readJson, type ApiArgs } from "~/lib/http.server";
import type { Actor } from "~/services/actor.server";

/** The identity `?externalId=` (and `apiId`, when several of the caller's APIs have it) names: 404 if none, 409 if ambiguous. */
async function identityByExternalId({ request, context }: ApiArgs, actor: Actor) {
  const { externalId, apiId } = parseInput(identityByExternalIdQuery, queryObject(new URL(request.url)));
  return context.keyward.identities.findByExternalId(actor, externalId, apiId);
}

/**
 * Identities of the APIs the caller may see. GET is always a list (`?externalId=` filters it, to
 * at most one per API); PATCH and DELETE here act on the one identity `?externalId=` names, as
 * /api/v1/identities/{id} does by id.
 */
const route = apiRoute({
  GET: withApiKey({ operation: "identities.list" }, async ({ request, context, actor }) => {
    const query = parseInput(listIdentitiesQuery, queryObject(new URL(request.url), ["limit"]));
    return json(await context.keyward.identities.list(actor, query));
  }),
  POST: withApiKey({ operation: "identities.create" }, idempotent(async ({ request, context, actor }) => {
    const input = await readJson(request, createIdentityBody);
    return json(await context.keyward.identities.create(actor, input), { status: 201 });
  })),
  PATCH: withApiKey({ operation: "identities.update" }, async (args) => {
    const identity = await identityByExternalId(args, args.actor);
    const patch = await readJson(args.request, updateIdentityBody);
    return json(await args.context.keyward.identities.update(args.actor, identity.id, patch));
  }),
  DELETE: withApiKey({ operation: "identities.delete" }, async (args) => {
    const identity = await identityByExternalId(args, args.actor);
    return json(await args.context.keyward.identities.delete(args.actor, identity.id));
  }),
});
export const loader = route.loader;
export const action = route.action;
