import { pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { timestamps } from "./columns";

export const ROLES = ["admin", "member"] as const;
export type Role = (typeof ROLES)[number];

export const users = pgTable("users", {
  id: text("id").primaryKey(),
  /** Stored lower-cased; unique. */
  email: text("email").notNull().unique(),
  /** argon2id PHC string. */
  passwordHash: text("password_hash").notNull(),
  role: text("role", { enum: ROLES }).notNull().default("member"),
  disabledAt: timestamp("disabled_at", { withTimezone: true, mode: "date" }),
  ...timestamps,
});
