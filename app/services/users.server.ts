import { randomBytes } from "node:crypto";
import { and, asc, eq, ne, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../db/client.server";
import { ROLES, sessions, users, type Role } from "../../db/schema";
import { newId } from "../lib/ids";
import { seesEveryone, type Actor } from "./actor.server";
import { recordAudit } from "./audit.server";
import type { Clock } from "./clock.server";
import { KeywardError, notFound } from "./errors.server";
import type { EventBus } from "./events.server";
import { MAX_EMAIL_LENGTH, requireSessionActor } from "./auth.server";
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, verifyPassword, type PasswordHashing } from "./passwords.server";

// Length first: the address pattern never runs over an overlong string.
export const emailSchema = z.string().trim().max(MAX_EMAIL_LENGTH).toLowerCase().pipe(z.email("Enter a valid email address"));
export const passwordSchema = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `Use at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(MAX_PASSWORD_LENGTH, `Use at most ${MAX_PASSWORD_LENGTH} characters`);
export const roleSchema = z.enum(ROLES);

export const createUserInput = z.object({ email: emailSchema, password: passwordSchema, role: roleSchema.default("member") });
export type CreateUserInput = z.input<typeof createUserInput>;

export const changePasswordInput = z
  .object({
    currentPassword: z.string().min(1, "Enter your current password").max(MAX_PASSWORD_LENGTH),
    newPassword: passwordSchema,
  })
  .refine((input) => input.newPassword !== input.currentPassword, { message: "Choose a password different from the current one", path: ["newPassword"] });
export type ChangePasswordInput = z.input<typeof changePasswordInput>;

/** The refusal for a wrong current password: a field error on the form (callers may count it as a failed sign-in). */
export const WRONG_CURRENT_PASSWORD = "The current password is not right";

export interface UserView {
  id: string;
  email: string;
  role: Role;
  disabledAt: string | null;
  createdAt: string;
}

const userColumns = { id: users.id, email: users.email, role: users.role, disabledAt: users.disabledAt, createdAt: users.createdAt };

const toView = (row: { id: string; email: string; role: Role; disabledAt: Date | null; createdAt: Date }): UserView => ({
  ...row,
  disabledAt: row.disabledAt?.toISOString() ?? null,
  createdAt: row.createdAt.toISOString(),
});

export interface UserServiceDeps {
  db: Database;
  clock: Clock;
  hashing?: PasswordHashing;
  events?: Pick<EventBus, "publish">;
}

export class UserService {
  constructor(private readonly deps: UserServiceDeps) {}

  async create(actor: Actor, rawInput: CreateUserInput): Promise<UserView> {
    this.requireAdmin(actor);
    const input = createUserInput.parse(rawInput);
    const now = this.deps.clock.now();
    const passwordHash = await hashPassword(input.password, this.deps.hashing);
    const id = newId("usr");
    return this.deps.db.transaction(async (tx) => {
      const inserted = await tx
        .insert(users)
        .values({ id, email: input.email, passwordHash, role: input.role, createdAt: now, updatedAt: now })
        .onConflictDoNothing({ target: users.email })
        .returning(userColumns);
      if (inserted.length === 0) throw new KeywardError("conflict", `A user with the email ${input.email} already exists`, { field: "email" });
      await recordAudit(tx, actor, { action: "user.created", targetType: "user", targetId: id, details: { email: input.email, role: input.role } }, now);
      return toView(inserted[0]!);
    });
  }

  async list(actor: Actor): Promise<UserView[]> {
    this.requireAdmin(actor);
    const rows = await this.deps.db.select(userColumns).from(users).orderBy(asc(users.email));
    return rows.map(toView);
  }

  async get(actor: Actor, id: string): Promise<UserView> {
    if (!seesEveryone(actor) && !(actor.kind === "user" && actor.userId === id)) throw notFound("User");
    const [row] = await this.deps.db.select(userColumns).from(users).where(eq(users.id, id));
    if (!row) throw notFound("User");
    return toView(row);
  }

  async findByEmail(email: string): Promise<UserView | null> {
    const [row] = await this.deps.db.select(userColumns).from(users).where(eq(users.email, email.trim().toLowerCase()));
    return row ? toView(row) : null;
  }

  async setRole(actor: Actor, id: string, role: Role): Promise<UserView> {
    this.requireAdmin(actor);
    if (actor.kind === "user" && actor.userId === id && role !== "admin") {
      throw new KeywardError("invalid_state", "You cannot remove your own admin role; ask another admin");
    }
    return this.change(actor, id, "user.role_changed", async (current, tx) => {
      if (current.role === role) return null;
      if (current.role === "admin") await this.assertAnotherActiveAdmin(tx, id);
      return { values: { role }, details: { from: current.role, to: role } };
    });
  }

  /**
   * Changes the signed-in user's own password after checking the current one, and ends every other
   * session of theirs (the one in `keepSessionId` stays), audited as `user.password_changed` in the
   * same transaction. Not through an API key: a leaked key must not be able to take over the account.
   */
  async changePassword(actor: Actor, rawInput: ChangePasswordInput, keepSessionId: string | null): Promise<{ otherSessionsEnded: number }> {
    requireSessionActor(actor);
    const input = changePasswordInput.parse(rawInput);
    const [row] = await this.deps.db.select({ passwordHash: users.passwordHash, disabledAt: users.disabledAt }).from(users).where(eq(users.id, actor.userId));
    if (!row || row.disabledAt) throw notFound("User");
    // argon2 runs outside the transaction, so no row lock is held while hashing.
    if (!(await verifyPassword(row.passwordHash, input.currentPassword))) {
      throw new KeywardError("validation_failed", WRONG_CURRENT_PASSWORD, { field: "currentPassword" });
    }
    const passwordHash = await hashPassword(input.newPassword, this.deps.hashing);
    const now = this.deps.clock.now();
    return this.deps.db.transaction(async (tx) => {
      // Only over the hash that was verified: a concurrent change in between wins, this one is refused.
      const updated = await tx
        .update(users)
        .set({ passwordHash, updatedAt: now })
        .where(and(eq(users.id, actor.userId), eq(users.passwordHash, row.passwordHash)))
        .returning({ id: users.id });
      if (updated.length === 0) throw new KeywardError("conflict", "Your password was changed meanwhile; sign in again and retry");
      const others = keepSessionId ? and(eq(sessions.userId, actor.userId), ne(sessions.id, keepSessionId)) : eq(sessions.userId, actor.userId);
      const ended = await tx.delete(sessions).where(others).returning({ id: sessions.id });
      await recordAudit(tx, actor, { action: "user.password_changed", targetType: "user", targetId: actor.userId, details: { otherSessionsEnded: ended.length } }, now);
      return { otherSessionsEnded: ended.length };
    });
  }

  /** Disables a user and ends every session they have; their keys stop authenticating. */
  async disable(actor: Actor, id: string): Promise<UserView> {
    this.requireAdmin(actor);
    if (actor.kind === "user" && actor.userId === id) throw new KeywardError("invalid_state", "You cannot disable yourself");
    return this.change(actor, id, "user.disabled", async (current, tx) => {
      if (current.disabledAt) return null;
      if (current.role === "admin") await this.assertAnotherActiveAdmin(tx, id);
      await tx.delete(sessions).where(eq(sessions.userId, id));
      return { values: { disabledAt: this.deps.clock.now() }, details: {} };
    });
  }

  async enable(actor: Actor, id: string): Promise<UserView> {
    this.requireAdmin(actor);
    return this.change(actor, id, "user.enabled", async (current) =>
      current.disabledAt ? { values: { disabledAt: null }, details: {} } : null,
    );
  }

  /**
   * An admin sets another user's password: the one given, or a generated one returned this once.
   * Every session of the user ends; audited as `user.password_reset` (never the password itself).
   * Not for one's own account, which changes its password knowing the current one (changePassword).
   */
  async resetPassword(actor: Actor, id: string, password?: string): Promise<{ user: UserView; password: string; generated: boolean }> {
    this.requireAdmin(actor);
    if (actor.kind === "user" && actor.userId === id) throw new KeywardError("invalid_state", "Change your own password from your account page, with the current one");
    const generated = password === undefined;
    const chosen = generated ? randomBytes(18).toString("base64url") : passwordSchema.parse(password);
    // argon2 runs outside the transaction, so no lock is held while hashing.
    const passwordHash = await hashPassword(chosen, this.deps.hashing);
    const user = await this.change(actor, id, "user.password_reset", async (_current, tx) => {
      const ended = await tx.delete(sessions).where(eq(sessions.userId, id)).returning({ id: sessions.id });
      return { values: { passwordHash }, details: { generated, sessionsEnded: ended.length } };
    });
    return { user, password: chosen, generated };
  }

  private async change(
    actor: Actor,
    id: string,
    action: string,
    decide: (
      current: typeof users.$inferSelect,
      tx: Database,
    ) => Promise<{ values: Partial<typeof users.$inferInsert>; details: Record<string, unknown> } | null>,
  ): Promise<UserView> {
    const now = this.deps.clock.now();
    const result = await this.deps.db.transaction(async (tx) => {
      // One user change at a time (advisory lock; the migrator holds 7355608): two admins demoting
      // or disabling each other at once would otherwise each count the other and leave no admin.
      await tx.execute(sql`select pg_advisory_xact_lock(7355609)`);
      const [current] = await tx.select().from(users).where(eq(users.id, id)).for("update");
      if (!current) throw notFound("User");
      const decision = await decide(current, tx as unknown as Database);
      if (!decision) return { row: current, changed: false };
      const [row] = await tx
        .update(users)
        .set({ ...decision.values, updatedAt: now })
        .where(eq(users.id, id))
        .returning();
      await recordAudit(tx, actor, { action, targetType: "user", targetId: id, details: decision.details }, now);
      return { row: row!, changed: true };
    });
    if (result.changed) await this.deps.events?.publish({ type: "user.changed", userId: id });
    return toView(result.row);
  }

  /** Keyward always keeps one active admin, so it can always be administered. */
  private async assertAnotherActiveAdmin(tx: Database, exceptId: string): Promise<void> {
    const [other] = await tx
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.role, "admin"), isNull(users.disabledAt), ne(users.id, exceptId)))
      .limit(1);
    if (!other) throw new KeywardError("invalid_state", "This is the last active admin; make someone else admin first");
  }

  private requireAdmin(actor: Actor): void {
    if (!seesEveryone(actor)) throw new KeywardError("forbidden", "Only admins manage users");
  }
}
