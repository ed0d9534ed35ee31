import { eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { sessionHandle } from "../../app/services/auth.server";
import { sessions } from "../../db/schema";
import { createUser, TEST_PASSWORD, testKeyward, type TestKeyward } from "../support/keyward";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Now, so the faked time only moves forward from the real one the libraries' own timers started from.
const START = new Date();
const at = (offsetMs: number) => new Date(START.getTime() + offsetMs);

let kw: TestKeyward;
let email: string;

beforeAll(async () => {
  kw = await testKeyward();
  email = (await createUser(kw)).email;
});

afterAll(async () => {
  await kw?.dispose();
});

afterEach(() => {
  vi.useRealTimers();
});

/** Moves the time lucia and the services read (only `Date`: the drivers' timers keep running). */
function setTime(to: Date) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(to);
}

/** Signs in the way the login route does; returns the session id and the Set-Cookie value. */
async function signIn(): Promise<{ sessionId: string; cookie: string }> {
  const { cookie } = await kw.auth.login(email, TEST_PASSWORD);
  return { sessionId: cookie.split(";")[0]!.split("=")[1]!, cookie };
}

/** One dashboard request carrying the session cookie: whether it is signed in. */
async function use(sessionId: string): Promise<boolean> {
  const request = new Request("http://keyward.test/keys", { headers: { Cookie: `${kw.auth.cookieName}=${sessionId}` } });
  return (await kw.auth.fromRequest(request))?.sessionId === sessionId;
}

async function expiryOf(sessionId: string): Promise<Date | undefined> {
  const [row] = await kw.database.db.select({ expiresAt: sessions.expiresAt }).from(sessions).where(eq(sessions.id, sessionId));
  return row?.expiresAt;
}

describe("dashboard sessions last 14 days, extended while used", () => {
  it("a session left unused is valid at 13 days 23 hours and over at 14 days", async () => {
    setTime(START);
    const early = await signIn();
    const late = await signIn();
    expect(await expiryOf(early.sessionId)).toEqual(at(14 * DAY));

    setTime(at(14 * DAY - HOUR));
    expect(await use(early.sessionId)).toBe(true);
    setTime(at(14 * DAY));
    expect(await use(late.sessionId)).toBe(false);
  });

  it("a session used in the first half of its life keeps its expiry", async () => {
    setTime(START);
    const { sessionId } = await signIn();
    setTime(at(6 * DAY));
    expect(await use(sessionId)).toBe(true);
    expect(await expiryOf(sessionId)).toEqual(at(14 * DAY));
    setTime(at(14 * DAY));
    expect(await use(sessionId)).toBe(false);
  });

  it("a session used on day 8 (past half its life) lasts until day 8 + 14", async () => {
    setTime(START);
    const kept = await signIn();
    const left = await signIn();
    setTime(at(8 * DAY));
    expect(await use(kept.sessionId)).toBe(true);
    expect(await use(left.sessionId)).toBe(true);
    expect(await expiryOf(kept.sessionId)).toEqual(at(22 * DAY));
    const listed = await kw.auth.listSessions((await kw.users.findByEmail(email))!.id);
    expect(listed.find((session) => session.handle === sessionHandle(kept.sessionId))?.expiresAt).toBe(at(22 * DAY).toISOString());

    setTime(at(22 * DAY - HOUR));
    expect(await use(kept.sessionId)).toBe(true);
    setTime(at(22 * DAY));
    expect(await use(left.sessionId)).toBe(false);
  });

  it("the cookie is set once for the browser's longest life (400 days), so an extended session needs no new cookie", async () => {
    setTime(START);
    const { cookie } = await signIn();
    expect(cookie).toMatch(/; Max-Age=34560000(;|$)/);
  });
});
