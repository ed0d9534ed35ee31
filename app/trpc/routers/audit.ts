import { auditListInput, keyAuditInput } from "../../lib/audit-schemas";
import { operationProcedure, router } from "../trpc.server";

export const auditRouter = router({
  /** Everyone's entries, filtered and paginated (admin). */
  list: operationProcedure("audit.list").input(auditListInput).query(({ ctx, input }) => ctx.keyward.audit.list(ctx.actor, input)),
  /** The entries about one key, for whoever can see the key. */
  forKey: operationProcedure("keys.audit")
    .input(keyAuditInput)
    .query(({ ctx, input }) => ctx.keyward.audit.forKey(ctx.actor, input)),
});
