import { overviewInput } from "../../services/overview.server";
import { operationProcedure, router } from "../trpc.server";

export const overviewRouter = router({
  /** The overview page in one call: admins see every key, anyone else their own. */
  get: operationProcedure("overview.get")
    .input(overviewInput)
    .query(({ ctx, input }) => ctx.keyward.overview.get(ctx.actor, input)),
});
