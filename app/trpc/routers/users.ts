import { z } from "zod";
import { userIdSchema } from "../../lib/key-schemas";
import { createUserInput, roleSchema } from "../../services/users.server";
import { adminProcedure, router } from "../trpc.server";

const byId = z.object({ id: userIdSchema });

export const usersRouter = router({
  list: adminProcedure.query(({ ctx }) => ctx.keyward.users.list(ctx.actor)),
  get: adminProcedure.input(byId).query(({ ctx, input }) => ctx.keyward.users.get(ctx.actor, input.id)),
  create: adminProcedure.input(createUserInput).mutation(({ ctx, input }) => ctx.keyward.users.create(ctx.actor, input)),
  setRole: adminProcedure
    .input(byId.extend({ role: roleSchema }))
    .mutation(({ ctx, input }) => ctx.keyward.users.setRole(ctx.actor, input.id, input.role)),
  disable: adminProcedure.input(byId).mutation(({ ctx, input }) => ctx.keyward.users.disable(ctx.actor, input.id)),
  enable: adminProcedure.input(byId).mutation(({ ctx, input }) => ctx.keyward.users.enable(ctx.actor, input.id)),
});
