import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import { actorScopes } from "../services/actor.server";
import { accountRouter } from "./routers/account";
import { apisRouter } from "./routers/apis";
import { auditRouter } from "./routers/audit";
import { identitiesRouter } from "./routers/identities";
import { keysRouter } from "./routers/keys";
import { overviewRouter } from "./routers/overview";
import { securityRouter } from "./routers/security";
import { usageRouter } from "./routers/usage";
import { usersRouter } from "./routers/users";
import { reportVerificationsProcedure, verifyProcedure } from "./routers/verify";
import { createCallerFactory, operationProcedure, router } from "./trpc.server";

export const appRouter = router({
  /** Who is calling: the user, the key they are using (if any), and the scopes in force. */
  me: operationProcedure("me").query(async ({ ctx }) => {
    const { actor } = ctx;
    if (actor.kind !== "user") throw new Error("unreachable: tRPC callers are users");
    const user = await ctx.keyward.users.get(actor, actor.userId);
    return {
      user: { id: user.id, email: user.email, role: user.role },
      keyId: actor.keyId ?? null,
      scopes: [...actorScopes(actor)],
    };
  }),
  account: accountRouter,
  keys: keysRouter,
  apis: apisRouter,
  identities: identitiesRouter,
  users: usersRouter,
  usage: usageRouter,
  overview: overviewRouter,
  audit: auditRouter,
  security: securityRouter,
  verify: verifyProcedure,
  reportVerifications: reportVerificationsProcedure,
});

export type AppRouter = typeof appRouter;
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export const createCaller = createCallerFactory(appRouter);
