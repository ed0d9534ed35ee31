CREATE TABLE "key_counts" (
	"owner_id" text NOT NULL,
	"expires_on" timestamp with time zone NOT NULL,
	"total" bigint DEFAULT 0 NOT NULL,
	"live" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "key_counts_owner_id_expires_on_pk" PRIMARY KEY("owner_id","expires_on")
);
--> statement-breakpoint
-- Kept by the triggers below: each statement on api_keys adds what it changed, per owner and expiry day. Statement
-- triggers with transition tables, so a bulk insert of 4 000 keys is one upsert per owner, and the
-- usage flush's updates (which change no counts) write nothing.
-- The UTC day a key expires on; 'infinity' for keys that never expire.
CREATE FUNCTION "key_counts_day"(expires_at timestamptz) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(date_trunc('day', expires_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 'infinity'::timestamptz)
$$;
--> statement-breakpoint
CREATE FUNCTION "key_counts_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO key_counts AS c (owner_id, expires_on, total, live)
		SELECT owner_id, key_counts_day(expires_at), count(*), count(*) FILTER (WHERE revoked_at IS NULL AND disabled_at IS NULL) FROM new_rows GROUP BY 1, 2
		ON CONFLICT (owner_id, expires_on) DO UPDATE SET total = c.total + excluded.total, live = c.live + excluded.live;
	ELSIF TG_OP = 'UPDATE' THEN
		INSERT INTO key_counts AS c (owner_id, expires_on, total, live)
		SELECT owner_id, expires_on, sum(total), sum(live) FROM (
			SELECT owner_id, key_counts_day(expires_at) AS expires_on, 1 AS total, (revoked_at IS NULL AND disabled_at IS NULL)::int AS live FROM new_rows
			UNION ALL
			SELECT owner_id, key_counts_day(expires_at), -1, -((revoked_at IS NULL AND disabled_at IS NULL)::int) FROM old_rows
		) AS delta GROUP BY 1, 2 HAVING sum(total) <> 0 OR sum(live) <> 0
		ON CONFLICT (owner_id, expires_on) DO UPDATE SET total = c.total + excluded.total, live = c.live + excluded.live;
	ELSE
		INSERT INTO key_counts AS c (owner_id, expires_on, total, live)
		SELECT owner_id, key_counts_day(expires_at), -count(*), -count(*) FILTER (WHERE revoked_at IS NULL AND disabled_at IS NULL) FROM old_rows GROUP BY 1, 2
		ON CONFLICT (owner_id, expires_on) DO UPDATE SET total = c.total + excluded.total, live = c.live + excluded.live;
	END IF;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "api_keys_count_insert" AFTER INSERT ON "api_keys" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION key_counts_apply();--> statement-breakpoint
CREATE TRIGGER "api_keys_count_update" AFTER UPDATE ON "api_keys" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION key_counts_apply();--> statement-breakpoint
CREATE TRIGGER "api_keys_count_delete" AFTER DELETE ON "api_keys" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION key_counts_apply();--> statement-breakpoint
-- The triggers' lock on api_keys is held until this migration commits, so no key changes between them and this count.
INSERT INTO "key_counts" ("owner_id", "expires_on", "total", "live")
SELECT "owner_id", key_counts_day("expires_at"), count(*), count(*) FILTER (WHERE "revoked_at" IS NULL AND "disabled_at" IS NULL) FROM "api_keys" GROUP BY 1, 2;
--> statement-breakpoint
CREATE TABLE "usage_days" (
	"key_id" text NOT NULL,
	"day" timestamp with time zone NOT NULL,
	"requests" integer DEFAULT 0 NOT NULL,
	"success" integer DEFAULT 0 NOT NULL,
	"denied" integer DEFAULT 0 NOT NULL,
	"rate_limited" integer DEFAULT 0 NOT NULL,
	"errors" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_days_key_id_day_pk" PRIMARY KEY("key_id","day")
);
--> statement-breakpoint
CREATE TABLE "usage_hours" (
	"key_id" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"requests" integer DEFAULT 0 NOT NULL,
	"success" integer DEFAULT 0 NOT NULL,
	"denied" integer DEFAULT 0 NOT NULL,
	"rate_limited" integer DEFAULT 0 NOT NULL,
	"errors" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_hours_key_id_hour_pk" PRIMARY KEY("key_id","hour")
);
--> statement-breakpoint
-- The roll-ups of everything counted so far; from here on the usage flush writes all three tables.
INSERT INTO "usage_hours" ("key_id", "hour", "requests", "success", "denied", "rate_limited", "errors")
SELECT "key_id", date_trunc('hour', "minute" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum("requests"), sum("success"), sum("denied"), sum("rate_limited"), sum("errors")
FROM "usage_minutes" GROUP BY 1, 2;
--> statement-breakpoint
INSERT INTO "usage_days" ("key_id", "day", "requests", "success", "denied", "rate_limited", "errors")
SELECT "key_id", date_trunc('day', "hour" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum("requests"), sum("success"), sum("denied"), sum("rate_limited"), sum("errors")
FROM "usage_hours" GROUP BY 1, 2;
--> statement-breakpoint
CREATE INDEX "usage_days_day_idx" ON "usage_days" USING btree ("day");--> statement-breakpoint
CREATE INDEX "usage_hours_hour_idx" ON "usage_hours" USING btree ("hour");--> statement-breakpoint
-- Trusted since PostgreSQL 13 (the database owner may create it); PGlite loads it as a contrib extension.
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE INDEX "api_keys_name_trgm_idx" ON "api_keys" USING gin ("name" gin_trgm_ops);--> statement-breakpoint
-- Statistics for the tables just filled, or the planner guesses until autovacuum comes by.
ANALYZE "usage_hours";--> statement-breakpoint
ANALYZE "usage_days";
