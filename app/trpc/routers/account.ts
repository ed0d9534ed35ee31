import { z } from "zod";
import { requireSessionActor, sessionHandleSchema } from "../../services/auth.server";
import { isKeywardError, KeywardError } from "../../services/errors.server";
import { changePasswordInput, WRONG_CURRENT_PASSWORD } from "../../services/users.server";
import { authedProcedure, router } from "../trpc.server";

/**
 * The signed-in person managing their own account: only through the session cookie. An API key
 * is refused (403), so a leaked key can neither change its owner's password nor end their sessions.
 */
const sessionProcedure = authedProcedure.use(({ ctx, next }) => {
  requireSessionActor(ctx.actor);
  const sessionId = ctx.viaCookie ? ctx.keyward.auth.sessionIdFromRequest(ctx.request) : null;
  if (!sessionId) throw new KeywardError("forbidden", "Passwords and sessions are managed from a signed-in dashboard session, not with an API key");
  return next({ ctx: { ...ctx, actor: ctx.actor, sessionId } });
});

export const accountRouter = router({
  /** Ends every other session of the user; this one stays signed in. */
  changePassword: sessionProcedure.input(changePasswordInput).mutation(async ({ ctx, input }) => {
    const { keyward, actor, sessionId } = ctx;
    const { email } = await keyward.users.get(actor, actor.userId);
    const clientIp = actor.meta?.ip ?? "unknown";
    // A wrong current password counts as a failed sign-in, so a stolen session cannot guess at it freely.
    const throttle = await keyward.loginFailures.check(clientIp, email);
    if (throttle.blocked) {
      throw new KeywardError("too_many_failures", `Too many wrong passwords. Wait ${throttle.retryAfterSeconds} seconds, then try again.`, { retryAfterSeconds: throttle.retryAfterSeconds });
    }
    try {
      return await keyward.users.changePassword(actor, input, sessionId);
    } catch (error) {
      if (isKeywardError(error) && error.message === WRONG_CURRENT_PASSWORD) keyward.loginFailures.recordFailure(clientIp, email);
      throw error;
    }
  }),
  sessions: sessionProcedure.query(({ ctx }) => ctx.keyward.auth.listSessions(ctx.actor.userId, ctx.sessionId)),
  endSession: sessionProcedure
    .input(z.object({ handle: sessionHandleSchema }))
    .mutation(async ({ ctx, input }) => {
      await ctx.keyward.auth.endSession(ctx.actor, input.handle);
      return { ended: 1 };
    }),
  endOtherSessions: sessionProcedure.mutation(({ ctx }) => ctx.keyward.auth.endOtherSessions(ctx.actor, ctx.sessionId)),
});
