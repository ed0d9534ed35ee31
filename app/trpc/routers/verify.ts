import { verifyKeyInput } from "../../lib/api-schemas";
import { operationProcedure } from "../trpc.server";

/**
 * Verifies a key another service received (the SDK's `verify` and guard). A mutation, so the key
 * travels in the request body: a tRPC query would put it in the URL.
 */
export const verifyProcedure = operationProcedure("verify")
  .input(verifyKeyInput)
  .mutation(({ ctx, input }) => ctx.keyward.verifier.verify(input.key, { apiId: input.apiId, permissions: input.permissions, ip: input.ip, caller: ctx.actor }));
