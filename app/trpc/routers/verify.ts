import { verifyKeyInput } from "../../lib/api-schemas";
import { verifyIssuedKey } from "../../services/verification.server";
import { operationProcedure } from "../trpc.server";

/**
 * Verifies a key another service received (the SDK's `verify` and guard). A mutation, so the key
 * travels in the request body: a tRPC query would put it in the URL.
 */
export const verifyProcedure = operationProcedure("verify")
  .input(verifyKeyInput)
  .mutation(({ ctx, input }) => verifyIssuedKey(ctx.keyward, input, { caller: ctx.actor }));
