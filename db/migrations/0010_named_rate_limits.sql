ALTER TABLE "api_keys" ADD COLUMN "ratelimits" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "identities" ADD COLUMN "ratelimits" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
-- Written by hand (drizzle-kit generates no data changes): an issued key's single rate limit becomes its named limit "requests"; root keys keep rate_limit, which limits Keyward's own API.
UPDATE "api_keys" SET "ratelimits" = jsonb_build_array(jsonb_build_object('name', 'requests', 'limit', ("rate_limit"->>'requests')::integer, 'durationSeconds', ("rate_limit"->>'windowSeconds')::integer)), "rate_limit" = NULL WHERE "api_id" IS NOT NULL AND "rate_limit" IS NOT NULL;
