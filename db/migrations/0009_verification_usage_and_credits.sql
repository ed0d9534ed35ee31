CREATE TABLE "verification_days" (
	"key_id" text NOT NULL,
	"api_id" text NOT NULL,
	"identity_id" text DEFAULT '' NOT NULL,
	"outcome" text NOT NULL,
	"count" integer DEFAULT 0 NOT NULL,
	"day" timestamp with time zone NOT NULL,
	CONSTRAINT "verification_days_key_id_day_outcome_pk" PRIMARY KEY("key_id","day","outcome")
);
--> statement-breakpoint
CREATE TABLE "verification_hours" (
	"key_id" text NOT NULL,
	"api_id" text NOT NULL,
	"identity_id" text DEFAULT '' NOT NULL,
	"outcome" text NOT NULL,
	"count" integer DEFAULT 0 NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	CONSTRAINT "verification_hours_key_id_hour_outcome_pk" PRIMARY KEY("key_id","hour","outcome")
);
--> statement-breakpoint
CREATE TABLE "verification_minutes" (
	"key_id" text NOT NULL,
	"api_id" text NOT NULL,
	"identity_id" text DEFAULT '' NOT NULL,
	"outcome" text NOT NULL,
	"count" integer DEFAULT 0 NOT NULL,
	"minute" timestamp with time zone NOT NULL,
	CONSTRAINT "verification_minutes_key_id_minute_outcome_pk" PRIMARY KEY("key_id","minute","outcome")
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "credits_remaining" bigint;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "credits_refill" jsonb;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "credits_refilled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "request_log" ADD COLUMN "api_id" text;--> statement-breakpoint
ALTER TABLE "request_log" ADD COLUMN "identity_id" text;--> statement-breakpoint
ALTER TABLE "request_log" ADD COLUMN "outcome" text;--> statement-breakpoint
ALTER TABLE "request_log" ADD COLUMN "tags" text[];--> statement-breakpoint
ALTER TABLE "request_log" ADD COLUMN "root_key_id" text;--> statement-breakpoint
CREATE INDEX "verification_days_api_idx" ON "verification_days" USING btree ("api_id","day");--> statement-breakpoint
CREATE INDEX "verification_days_identity_idx" ON "verification_days" USING btree ("identity_id","day");--> statement-breakpoint
CREATE INDEX "verification_hours_api_idx" ON "verification_hours" USING btree ("api_id","hour");--> statement-breakpoint
CREATE INDEX "verification_hours_identity_idx" ON "verification_hours" USING btree ("identity_id","hour");--> statement-breakpoint
CREATE INDEX "verification_minutes_api_idx" ON "verification_minutes" USING btree ("api_id","minute");--> statement-breakpoint
CREATE INDEX "verification_minutes_identity_idx" ON "verification_minutes" USING btree ("identity_id","minute");--> statement-breakpoint
CREATE INDEX "verification_minutes_minute_idx" ON "verification_minutes" USING btree ("minute");