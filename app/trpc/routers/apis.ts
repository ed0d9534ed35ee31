import { z } from "zod";
import { createApiInput, listApisInput, updateApiInput } from "../../lib/apis-schemas";
import { apiIdSchema, createIssuedKeyInput, listKeysInput } from "../../lib/key-schemas";
import { usageSeriesInput } from "../../lib/usage-schemas";
import { idempotentCall } from "../idempotency.server";
import { operationProcedure, router } from "../trpc.server";

const byId = z.object({ id: apiIdSchema });

/** The keys of one API, as REST's /api/v1/apis/{id}/keys: `kind` and `apiId` are the API's, not filters to choose. */
const apiKeysRouter = router({
  list: operationProcedure("apis.keys.list")
    .input(listKeysInput.omit({ kind: true, apiId: true, scope: true, ownerId: true }).extend({ apiId: apiIdSchema }))
    .query(async ({ ctx, input }) => {
      // The API first, so an API the caller may not see is NOT_FOUND rather than an empty page.
      await ctx.keyward.apis.get(ctx.actor, input.apiId);
      return ctx.keyward.keys.list(ctx.actor, { ...input, kind: "issued" });
    }),
  /** The plaintext key is in this answer only. */
  create: operationProcedure("apis.keys.create")
    .input(createIssuedKeyInput.extend({ apiId: apiIdSchema }))
    .mutation(({ ctx, input }) => idempotentCall(ctx, "apis.keys.create", input, () => { const { apiId, ...key } = input; return ctx.keyward.keys.createIssued(ctx.actor, apiId, key); })),
});

export const apisRouter = router({
  list: operationProcedure("apis.list")
    .input(listApisInput)
    .query(({ ctx, input }) => ctx.keyward.apis.list(ctx.actor, input)),
  get: operationProcedure("apis.get")
    .input(byId)
    .query(({ ctx, input }) => ctx.keyward.apis.get(ctx.actor, input.id)),
  create: operationProcedure("apis.create")
    .input(createApiInput)
    .mutation(({ ctx, input }) => idempotentCall(ctx, "apis.create", input, () => ctx.keyward.apis.create(ctx.actor, input))),
  update: operationProcedure("apis.update")
    .input(updateApiInput.extend({ id: apiIdSchema }))
    .mutation(({ ctx, input: { id, ...patch } }) => ctx.keyward.apis.update(ctx.actor, id, patch)),
  /** Archives the API; CONFLICT while it has live keys. */
  delete: operationProcedure("apis.delete")
    .input(byId)
    .mutation(({ ctx, input }) => ctx.keyward.apis.archive(ctx.actor, input.id)),
  keys: apiKeysRouter,
  /** Verifications by outcome over time and the most verified keys. */
  usage: operationProcedure("apis.usage")
    .input(usageSeriesInput.extend({ id: apiIdSchema }))
    .query(({ ctx, input: { id, ...range } }) => ctx.keyward.usageReports.apiUsage(ctx.actor, id, range)),
});
