import { keyRequestLogInput, keyUsageSeriesInput, usageSummaryInput } from "../../lib/usage-schemas";
import { operationProcedure, router } from "../trpc.server";

export const usageRouter = router({
  series: operationProcedure("keys.usage")
    .input(keyUsageSeriesInput)
    .query(({ ctx, input: { id, ...range } }) => ctx.keyward.usageReports.series(ctx.actor, id, range)),
  summary: operationProcedure("usage.summary").input(usageSummaryInput).query(({ ctx, input }) => ctx.keyward.usageReports.summary(ctx.actor, input)),
  requests: operationProcedure("keys.requests")
    .input(keyRequestLogInput)
    .query(({ ctx, input: { id, ...page } }) => ctx.keyward.usageReports.requests(ctx.actor, id, page)),
});
