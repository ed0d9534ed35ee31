import { keyRequestLogInput, keyUsageSeriesInput, usageSummaryInput } from "../../lib/usage-schemas";
import { adminProcedure, router, scopedProcedure } from "../trpc.server";

export const usageRouter = router({
  series: scopedProcedure("read")
    .input(keyUsageSeriesInput)
    .query(({ ctx, input: { id, ...range } }) => ctx.keyward.usageReports.series(ctx.actor, id, range)),
  summary: adminProcedure.input(usageSummaryInput).query(({ ctx, input }) => ctx.keyward.usageReports.summary(ctx.actor, input)),
  requests: scopedProcedure("read")
    .input(keyRequestLogInput)
    .query(({ ctx, input: { id, ...page } }) => ctx.keyward.usageReports.requests(ctx.actor, id, page)),
});
