DROP INDEX "api_keys_owner_created_idx";--> statement-breakpoint
DROP INDEX "api_keys_created_idx";--> statement-breakpoint
DROP INDEX "audit_events_occurred_idx";--> statement-breakpoint
DROP INDEX "audit_events_target_idx";--> statement-breakpoint
DROP INDEX "audit_events_actor_idx";--> statement-breakpoint
DROP INDEX "security_events_occurred_idx";--> statement-breakpoint
DROP INDEX "security_events_key_idx";--> statement-breakpoint
DROP INDEX "security_events_kind_idx";--> statement-breakpoint
DROP INDEX "request_log_key_occurred_idx";--> statement-breakpoint
DROP INDEX "alerts_first_fired_idx";--> statement-breakpoint
DROP INDEX "alerts_status_idx";--> statement-breakpoint
CREATE INDEX "api_keys_owner_created_idx" ON "api_keys" USING btree ("owner_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "api_keys_created_idx" ON "api_keys" USING btree ("created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "audit_events_occurred_idx" ON "audit_events" USING btree ("occurred_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "audit_events_target_idx" ON "audit_events" USING btree ("target_id","occurred_at" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "audit_events_actor_idx" ON "audit_events" USING btree ("actor_id","occurred_at" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "security_events_occurred_idx" ON "security_events" USING btree ("occurred_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "security_events_key_idx" ON "security_events" USING btree ("key_id","occurred_at" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "security_events_kind_idx" ON "security_events" USING btree ("kind","occurred_at" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "request_log_key_occurred_idx" ON "request_log" USING btree ("key_id","occurred_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "alerts_first_fired_idx" ON "alerts" USING btree ("first_fired_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "alerts_status_idx" ON "alerts" USING btree ("status","first_fired_at" DESC NULLS FIRST);