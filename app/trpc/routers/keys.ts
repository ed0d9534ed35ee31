import { z } from "zod";
import { createKeyInput, keyIdSchema, listKeysInput, rotateKeyInput, updateKeyInput } from "../../lib/key-schemas";
import { router, scopedProcedure, adminProcedure } from "../trpc.server";

const byId = z.object({ id: keyIdSchema });

export const keysRouter = router({
  list: scopedProcedure("read")
    .input(listKeysInput)
    .query(({ ctx, input }) => ctx.keyward.keys.list(ctx.actor, input)),
  get: scopedProcedure("read")
    .input(byId)
    .query(({ ctx, input }) => ctx.keyward.keys.get(ctx.actor, input.id)),
  create: scopedProcedure("write")
    .input(createKeyInput)
    .mutation(({ ctx, input }) => ctx.keyward.keys.create(ctx.actor, input)),
  update: scopedProcedure("write")
    .input(updateKeyInput.extend({ id: keyIdSchema }))
    .mutation(({ ctx, input: { id, ...patch } }) => ctx.keyward.keys.update(ctx.actor, id, patch)),
  disable: scopedProcedure("write")
    .input(byId)
    .mutation(({ ctx, input }) => ctx.keyward.keys.disable(ctx.actor, input.id)),
  enable: scopedProcedure("write")
    .input(byId)
    .mutation(({ ctx, input }) => ctx.keyward.keys.enable(ctx.actor, input.id)),
  revoke: scopedProcedure("write")
    .input(byId)
    .mutation(({ ctx, input }) => ctx.keyward.keys.revoke(ctx.actor, input.id)),
  rotate: scopedProcedure("write")
    .input(rotateKeyInput.extend({ id: keyIdSchema }))
    .mutation(({ ctx, input }) => ctx.keyward.keys.rotate(ctx.actor, input.id, input)),
  reveal: adminProcedure
    .input(byId)
    .mutation(({ ctx, input }) => ctx.keyward.keys.reveal(ctx.actor, input.id)),
});
