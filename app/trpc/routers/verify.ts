import { reportVerificationsInput, verifyKeyInput } from "../../lib/api-schemas";
import { reportGuardAdmissions, verifyIssuedKey } from "../../services/verification.server";
import { operationProcedure } from "../trpc.server";

/**
 * Verifies a key another service received (the SDK's `verify` and guard). A mutation, so the key
 * travels in the request body: a tRPC query would put it in the URL.
 */
export const verifyProcedure = operationProcedure("verify")
  .input(verifyKeyInput)
  .mutation(({ ctx, input }) => verifyIssuedKey(ctx.keyward, input, { caller: ctx.actor }));

/** The SDK guard's reports of requests it admitted on a cached verdict (ADR 21); REST `POST /api/v1/verify/report`. */
export const reportVerificationsProcedure = operationProcedure("verify.report")
  .input(reportVerificationsInput)
  .mutation(({ ctx, input }) => reportGuardAdmissions(ctx.keyward, input, { caller: ctx.actor }));
