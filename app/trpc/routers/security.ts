import { z } from "zod";
import { alertIdSchema, alertListInput, alertRuleIdSchema, securityEventsInput, updateAlertRuleInput } from "../../services/alerts.server";
import { operationProcedure, router } from "../trpc.server";

/** Security events and alerts. Reads follow key visibility (members: their own keys); changes are admin-only. */
export const securityRouter = router({
  events: operationProcedure("security.view")
    .input(securityEventsInput)
    .query(({ ctx, input }) => ctx.keyward.security.listEvents(ctx.actor, input)),
  alerts: operationProcedure("security.view")
    .input(alertListInput)
    .query(({ ctx, input }) => ctx.keyward.security.listAlerts(ctx.actor, input)),
  alert: operationProcedure("security.view")
    .input(z.object({ id: z.string().max(64) }))
    .query(({ ctx, input }) => ctx.keyward.security.getAlert(ctx.actor, input.id)),
  openAlertCount: operationProcedure("security.view").query(({ ctx }) => ctx.keyward.security.openAlertCount(ctx.actor)),
  ack: operationProcedure("security.ack")
    .input(z.object({ id: alertIdSchema }))
    .mutation(({ ctx, input }) => ctx.keyward.security.ack(ctx.actor, input.id)),
  resolve: operationProcedure("security.resolve")
    .input(z.object({ id: alertIdSchema }))
    .mutation(({ ctx, input }) => ctx.keyward.security.resolve(ctx.actor, input.id)),
  deliveries: operationProcedure("security.deliveries")
    .input(z.object({ id: alertIdSchema }))
    .query(({ ctx, input }) => ctx.keyward.security.deliveries(ctx.actor, input.id)),
  rules: operationProcedure("security.rules").query(({ ctx }) => ctx.keyward.security.listRules(ctx.actor)),
  updateRule: operationProcedure("security.rules.update")
    .input(z.object({ id: alertRuleIdSchema, patch: updateAlertRuleInput }))
    .mutation(({ ctx, input }) => ctx.keyward.security.updateRule(ctx.actor, input.id, input.patch)),
});
