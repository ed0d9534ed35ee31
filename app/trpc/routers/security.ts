import { z } from "zod";
import { alertIdSchema, alertListInput, alertRuleIdSchema, securityEventsInput, updateAlertRuleInput } from "../../services/alerts.server";
import { adminProcedure, router, scopedProcedure } from "../trpc.server";

/** Security events and alerts. Reads follow key visibility (members: their own keys); changes are admin-only. */
export const securityRouter = router({
  events: scopedProcedure("read")
    .input(securityEventsInput)
    .query(({ ctx, input }) => ctx.keyward.security.listEvents(ctx.actor, input)),
  alerts: scopedProcedure("read")
    .input(alertListInput)
    .query(({ ctx, input }) => ctx.keyward.security.listAlerts(ctx.actor, input)),
  alert: scopedProcedure("read")
    .input(z.object({ id: z.string().max(64) }))
    .query(({ ctx, input }) => ctx.keyward.security.getAlert(ctx.actor, input.id)),
  openAlertCount: scopedProcedure("read").query(({ ctx }) => ctx.keyward.security.openAlertCount(ctx.actor)),
  ack: adminProcedure
    .input(z.object({ id: alertIdSchema }))
    .mutation(({ ctx, input }) => ctx.keyward.security.ack(ctx.actor, input.id)),
  resolve: adminProcedure
    .input(z.object({ id: alertIdSchema }))
    .mutation(({ ctx, input }) => ctx.keyward.security.resolve(ctx.actor, input.id)),
  deliveries: adminProcedure
    .input(z.object({ id: alertIdSchema }))
    .query(({ ctx, input }) => ctx.keyward.security.deliveries(ctx.actor, input.id)),
  rules: adminProcedure.query(({ ctx }) => ctx.keyward.security.listRules(ctx.actor)),
  updateRule: adminProcedure
    .input(z.object({ id: alertRuleIdSchema, patch: updateAlertRuleInput }))
    .mutation(({ ctx, input }) => ctx.keyward.security.updateRule(ctx.actor, input.id, input.patch)),
});
