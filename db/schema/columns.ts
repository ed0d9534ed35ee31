import { timestamp } from "drizzle-orm/pg-core";

/** Creation and last-change times, shared by every table that is edited in place. */
export const timestamps = {
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
};
