import { z } from "zod";
import { createKeyInput, keyIdSchema, listKeysInput, rotateKeyInput, updateKeyInput } from "../../lib/key-schemas";
import { idempotentCall } from "../idempotency.server";
import { operationProcedure, router } from "../trpc.server";

const byId = z.object({ id: keyIdSchema });

export const keysRouter = router({
  list: operationProcedure("keys.list")
    .input(listKeysInput)
    .query(({ ctx, input }) => ctx.keyward.keys.list(ctx.actor, input)),
  get: operationProcedure("keys.get")
    .input(byId)
    .query(({ ctx, input }) => ctx.keyward.keys.get(ctx.actor, input.id)),
  create: operationProcedure("keys.create")
    .input(createKeyInput)
    .mutation(({ ctx, input }) => idempotentCall(ctx, "keys.create", input, () => ctx.keyward.keys.create(ctx.actor, input))),
  update: operationProcedure("keys.update")
    .input(updateKeyInput.extend({ id: keyIdSchema }))
    .mutation(({ ctx, input: { id, ...patch } }) => ctx.keyward.keys.update(ctx.actor, id, patch)),
  disable: operationProcedure("keys.disable")
    .input(byId)
    .mutation(({ ctx, input }) => ctx.keyward.keys.disable(ctx.actor, input.id)),
  enable: operationProcedure("keys.enable")
    .input(byId)
    .mutation(({ ctx, input }) => ctx.keyward.keys.enable(ctx.actor, input.id)),
  revoke: operationProcedure("keys.revoke")
    .input(byId)
    .mutation(({ ctx, input }) => ctx.keyward.keys.revoke(ctx.actor, input.id)),
  rotate: operationProcedure("keys.rotate")
    .input(rotateKeyInput.extend({ id: keyIdSchema }))
    .mutation(({ ctx, input }) => idempotentCall(ctx, "keys.rotate", input, () => ctx.keyward.keys.rotate(ctx.actor, input.id, input))),
  reveal: operationProcedure("keys.reveal")
    .input(byId)
    .mutation(({ ctx, input }) => ctx.keyward.keys.reveal(ctx.actor, input.id)),
});
