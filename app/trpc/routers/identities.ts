import { z } from "zod";
import { createIdentityInput, listIdentitiesInput, updateIdentityInput } from "../../lib/apis-schemas";
import { apiIdSchema, externalIdSchema, identityIdSchema } from "../../lib/key-schemas";
import { usageSeriesInput } from "../../lib/usage-schemas";
import { idempotentCall } from "../idempotency.server";
import { operationProcedure, router } from "../trpc.server";

const byId = z.object({ id: identityIdSchema });

export const identitiesRouter = router({
  list: operationProcedure("identities.list")
    .input(listIdentitiesInput)
    .query(({ ctx, input }) => ctx.keyward.identities.list(ctx.actor, input)),
  get: operationProcedure("identities.get")
    .input(byId)
    .query(({ ctx, input }) => ctx.keyward.identities.get(ctx.actor, input.id)),
  /** The one identity with this externalId: within `apiId`, or among every API the caller sees (CONFLICT when several have it). */
  byExternalId: operationProcedure("identities.get")
    .input(z.object({ externalId: externalIdSchema, apiId: apiIdSchema.optional() }))
    .query(({ ctx, input }) => ctx.keyward.identities.findByExternalId(ctx.actor, input.externalId, input.apiId)),
  create: operationProcedure("identities.create")
    .input(createIdentityInput)
    .mutation(({ ctx, input }) => idempotentCall(ctx, "identities.create", input, () => ctx.keyward.identities.create(ctx.actor, input))),
  update: operationProcedure("identities.update")
    .input(updateIdentityInput.extend({ id: identityIdSchema }))
    .mutation(({ ctx, input: { id, ...patch } }) => ctx.keyward.identities.update(ctx.actor, id, patch)),
  /** CONFLICT while the identity has live keys. */
  delete: operationProcedure("identities.delete")
    .input(byId)
    .mutation(({ ctx, input }) => ctx.keyward.identities.delete(ctx.actor, input.id)),
  /** Every key of the identity, in one transaction and one audit entry. */
  revokeKeys: operationProcedure("identities.revokeKeys")
    .input(byId)
    .mutation(({ ctx, input }) => ctx.keyward.identities.revokeKeys(ctx.actor, input.id)),
  disableKeys: operationProcedure("identities.disableKeys")
    .input(byId)
    .mutation(({ ctx, input }) => ctx.keyward.identities.disableKeys(ctx.actor, input.id)),
  /** The verifications of all of its keys together, by outcome over time. */
  usage: operationProcedure("identities.usage")
    .input(usageSeriesInput.extend({ id: identityIdSchema }))
    .query(({ ctx, input: { id, ...range } }) => ctx.keyward.usageReports.identityUsage(ctx.actor, id, range)),
});
