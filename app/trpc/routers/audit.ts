import { auditListInput, keyAuditInput } from "../../lib/audit-schemas";
import { adminProcedure, router, scopedProcedure } from "../trpc.server";

export const auditRouter = router({
  /** Everyone's entries, filtered and paginated (admin). */
  list: adminProcedure.input(auditListInput).query(({ ctx, input }) => ctx.keyward.audit.list(ctx.actor, input)),
  /** The entries about one key, for whoever can see the key. */
  forKey: scopedProcedure("read")
    .input(keyAuditInput)
    .query(({ ctx, input }) => ctx.keyward.audit.forKey(ctx.actor, input)),
});
