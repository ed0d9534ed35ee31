DROP INDEX "audit_events_target_idx";--> statement-breakpoint
CREATE INDEX "audit_events_target_idx" ON "audit_events" USING btree ("target_id","occurred_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);