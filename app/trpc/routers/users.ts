import { z } from "zod";
import { userIdSchema } from "../../lib/key-schemas";
import { createUserInput, roleSchema } from "../../services/users.server";
import { operationProcedure, router } from "../trpc.server";

/** Managing dashboard users is one admin operation, whatever the change. */
const usersProcedure = operationProcedure("users.manage");

const byId = z.object({ id: userIdSchema });

export const usersRouter = router({
  list: usersProcedure.query(({ ctx }) => ctx.keyward.users.list(ctx.actor)),
  get: usersProcedure.input(byId).query(({ ctx, input }) => ctx.keyward.users.get(ctx.actor, input.id)),
  create: usersProcedure.input(createUserInput).mutation(({ ctx, input }) => ctx.keyward.users.create(ctx.actor, input)),
  setRole: usersProcedure
    .input(byId.extend({ role: roleSchema }))
    .mutation(({ ctx, input }) => ctx.keyward.users.setRole(ctx.actor, input.id, input.role)),
  /** Also ends every session the user has. */
  disable: usersProcedure.input(byId).mutation(({ ctx, input }) => ctx.keyward.users.disable(ctx.actor, input.id)),
  enable: usersProcedure.input(byId).mutation(({ ctx, input }) => ctx.keyward.users.enable(ctx.actor, input.id)),
  /** A user's keys, newest first, by cursor (NOT_FOUND for an unknown user). */
  keys: usersProcedure
    .input(byId.extend({ limit: z.number().int().min(1).max(100).default(50), cursor: z.string().max(200).optional() }))
    .query(async ({ ctx, input }) => {
      await ctx.keyward.users.get(ctx.actor, input.id);
      return ctx.keyward.keys.list(ctx.actor, { ownerId: input.id, limit: input.limit, cursor: input.cursor });
    }),
});
