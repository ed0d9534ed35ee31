import crypto from "node:crypto";
import { DrizzlePostgreSQLAdapter } from "@lucia-auth/adapter-drizzle";
import { Lucia, TimeSpan } from "lucia";
import { z } from "zod";
import type { Database } from "../../db/client.server";
import { sessions, users, type Role } from "../../db/schema";
import { and, desc, eq, gt, ne } from "drizzle-orm";
import { sessionActor, type Actor, type RequestMeta } from "./actor.server";
import { recordAudit } from "./audit.server";
import type { Clock } from "./clock.server";
import { KeywardError, notFound } from "./errors.server";
import { hashPassword, MAX_PASSWORD_LENGTH, verifyPassword, type PasswordHashing } from "./passwords.server";

/** The longest email address SMTP can carry (RFC 5321's 254-character path). */
export const MAX_EMAIL_LENGTH = 254;

export interface SessionUser {
  id: string;
  email: string;
  role: Role;
}

function createLucia(db: Database, production: boolean) {
  return new Lucia(new DrizzlePostgreSQLAdapter(db, sessions, users), {
    sessionExpiresIn: new TimeSpan(14, "d"),
    sessionCookie: {
      // __Host- pins the cookie to this exact origin over HTTPS (no Domain, Path=/, Secure).
      name: production ? "__Host-keyward_session" : "keyward_session",
      // lucia gives the cookie its longest life (Max-Age 400 days); the database decides expiry
      // (14 days idle, extended on use), so the cookie never needs re-issuing from a loader.
      expires: false,
      attributes: { secure: production, sameSite: "lax" },
    },
    getUserAttributes: (attributes) => ({ email: attributes.email, role: attributes.role, disabledAt: attributes.disabledAt }),
  });
}

declare module "lucia" {
  interface Register {
    Lucia: ReturnType<typeof createLucia>;
    DatabaseUserAttributes: { email: string; role: Role; disabledAt: Date | null };
    DatabaseSessionAttributes: { ipAddress: string | null; userAgent: string | null };
  }
}

/**
 * A session id is a bearer secret, so pages name a session by this handle instead: a prefix of the
 * id's SHA-256, enough to tell one user's sessions apart and useless for signing in.
 */
export function sessionHandle(sessionId: string): string {
  return crypto.createHash("sha256").update(sessionId).digest("hex").slice(0, 24);
}

export const sessionHandleSchema = z.string().regex(/^[0-9a-f]{24}$/, "Not a session handle");

/** One of a user's open sessions, as the account page shows it: never the session id itself. */
export interface SessionView {
  handle: string;
  createdAt: string;
  expiresAt: string;
  ipAddress: string | null;
  userAgent: string | null;
  /** The session the request came from. */
  current: boolean;
}

/** Sessions and passwords are managed by the person signed in, never through one of their API keys. */
export function requireSessionActor(actor: Actor): asserts actor is Extract<Actor, { kind: "user" }> {
  if (actor.kind !== "user" || actor.keyId) {
    throw new KeywardError("forbidden", "Passwords and sessions are managed from a signed-in dashboard session, not with an API key");
  }
}

const wrongCredentials = () => new KeywardError("invalid_credentials", "The email or password is not right, or the account is disabled");

export interface AuthServiceDeps {
  db: Database;
  clock: Clock;
  production: boolean;
  hashing?: PasswordHashing;
}

export interface RequestSession {
  user: SessionUser;
  sessionId: string;
}

export class AuthService {
  readonly lucia: ReturnType<typeof createLucia>;
  private dummyHash?: Promise<string>;

  constructor(private readonly deps: AuthServiceDeps) {
    this.lucia = createLucia(deps.db, deps.production);
  }

  get cookieName(): string {
    return this.lucia.sessionCookieName;
  }

  /** Checks the password and opens a session; returns its Set-Cookie value. One message for every failure. */
  async login(email: string, password: string, meta: RequestMeta = {}): Promise<{ user: SessionUser; cookie: string }> {
    // No account has such an email or password: refused before any lookup or hashing.
    if (email.length > MAX_EMAIL_LENGTH || password.length > MAX_PASSWORD_LENGTH) throw wrongCredentials();
    const [row] = await this.deps.db.select().from(users).where(eq(users.email, email.trim().toLowerCase()));
    // Hash even for unknown emails, so timing does not tell which emails exist.
    this.dummyHash ??= hashPassword("keyward-timing-equaliser", this.deps.hashing);
    const ok = await verifyPassword(row?.passwordHash ?? (await this.dummyHash), password);
    if (!row || !ok || row.disabledAt) throw wrongCredentials();
    const user: SessionUser = { id: row.id, email: row.email, role: row.role };
    const session = await this.lucia.createSession(row.id, { ipAddress: meta.ip ?? null, userAgent: meta.userAgent?.slice(0, 512) ?? null });
    await recordAudit(this.deps.db, sessionActor(user, meta), { action: "auth.login", targetType: "user", targetId: row.id }, this.deps.clock.now());
    return { user, cookie: this.lucia.createSessionCookie(session.id).serialize() };
  }

  /** Ends the session; returns the Set-Cookie value that clears the cookie. */
  async logout(session: RequestSession | null, meta: RequestMeta = {}): Promise<string> {
    if (session) {
      await this.lucia.invalidateSession(session.sessionId);
      await recordAudit(this.deps.db, sessionActor(session.user, meta), { action: "auth.logout", targetType: "user", targetId: session.user.id }, this.deps.clock.now());
    }
    return this.lucia.createBlankSessionCookie().serialize();
  }

  /** The session id the request's cookie carries (not checked: fromRequest does that). */
  sessionIdFromRequest(request: Request): string | null {
    return this.lucia.readSessionCookie(request.headers.get("Cookie") ?? "");
  }

  /** The user's unexpired sessions, newest first, each named by its handle. */
  async listSessions(userId: string, currentSessionId: string | null = null): Promise<SessionView[]> {
    const rows = await this.deps.db
      .select({ id: sessions.id, createdAt: sessions.createdAt, expiresAt: sessions.expiresAt, ipAddress: sessions.ipAddress, userAgent: sessions.userAgent })
      .from(sessions)
      .where(and(eq(sessions.userId, userId), gt(sessions.expiresAt, this.deps.clock.now())))
      .orderBy(desc(sessions.createdAt));
    return rows.map((row) => ({
      handle: sessionHandle(row.id),
      createdAt: row.createdAt.toISOString(),
      expiresAt: row.expiresAt.toISOString(),
      ipAddress: row.ipAddress,
      userAgent: row.userAgent,
      current: row.id === currentSessionId,
    }));
  }

  /** Ends one of the actor's own sessions, named by its handle; audited as `session.ended`. */
  async endSession(actor: Actor, handle: string): Promise<void> {
    requireSessionActor(actor);
    const parsed = sessionHandleSchema.safeParse(handle);
    if (!parsed.success) throw notFound("Session");
    const now = this.deps.clock.now();
    await this.deps.db.transaction(async (tx) => {
      const own = await tx.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, actor.userId));
      const target = own.find((session) => sessionHandle(session.id) === parsed.data);
      if (!target) throw notFound("Session");
      await tx.delete(sessions).where(and(eq(sessions.id, target.id), eq(sessions.userId, actor.userId)));
      await recordAudit(tx, actor, { action: "session.ended", targetType: "session", targetId: parsed.data, details: { userId: actor.userId } }, now);
    });
  }

  /** Ends every session of the actor but the one they are using; returns how many ended. */
  async endOtherSessions(actor: Actor, currentSessionId: string): Promise<{ ended: number }> {
    requireSessionActor(actor);
    const now = this.deps.clock.now();
    return this.deps.db.transaction(async (tx) => {
      const ended = await tx
        .delete(sessions)
        .where(and(eq(sessions.userId, actor.userId), ne(sessions.id, currentSessionId)))
        .returning({ id: sessions.id });
      for (const session of ended) {
        await recordAudit(tx, actor, { action: "session.ended", targetType: "session", targetId: sessionHandle(session.id), details: { userId: actor.userId, reason: "others_ended" } }, now);
      }
      return { ended: ended.length };
    });
  }

  /** The session behind the request's cookie, or null. A disabled user has no session. */
  async fromRequest(request: Request): Promise<RequestSession | null> {
    const sessionId = this.lucia.readSessionCookie(request.headers.get("Cookie") ?? "");
    if (!sessionId) return null;
    const { session, user } = await this.lucia.validateSession(sessionId);
    if (!session || !user) return null;
    if (user.disabledAt) {
      await this.lucia.invalidateUserSessions(user.id);
      return null;
    }
    return {
      user: { id: user.id, email: user.email, role: user.role },
      sessionId: session.id,
    };
  }
}
