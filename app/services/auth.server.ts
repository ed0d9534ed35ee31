import { DrizzlePostgreSQLAdapter } from "@lucia-auth/adapter-drizzle";
import { Lucia, TimeSpan } from "lucia";
import type { Database } from "../../db/client.server";
import { sessions, users, type Role } from "../../db/schema";
import { eq } from "drizzle-orm";
import { sessionActor, type RequestMeta } from "./actor.server";
import { recordAudit } from "./audit.server";
import type { Clock } from "./clock.server";
import { KeywardError } from "./errors.server";
import { hashPassword, verifyPassword, type PasswordHashing } from "./passwords.server";

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
    const [row] = await this.deps.db.select().from(users).where(eq(users.email, email.trim().toLowerCase()));
    // Hash even for unknown emails, so timing does not tell which emails exist.
    this.dummyHash ??= hashPassword("keyward-timing-equaliser", this.deps.hashing);
    const ok = await verifyPassword(row?.passwordHash ?? (await this.dummyHash), password);
    if (!row || !ok || row.disabledAt) {
      throw new KeywardError("invalid_credentials", "The email or password is not right, or the account is disabled");
    }
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
