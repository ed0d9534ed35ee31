import fs from "node:fs";
import fc from "fast-check";
import { inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../app/lib/http.server";
import { keyIdSchema } from "../../app/lib/key-schemas";
import { sessionHandle } from "../../app/services/auth.server";
import { LoginThrottle } from "../../app/services/failed-auth-throttle.server";
import type { UsageRecorder } from "../../app/services/usage.server";
import { alertRules, alerts, apiKeys, sessions, users } from "../../db/schema";
import { createUser, system, TEST_PASSWORD } from "../support/keyward";
import { login, startApp, type RunningApp } from "../support/server";

/** The member's own password: the only right one the fuzz ever sends (the others use TEST_PASSWORD), so a lucky login can only be the member's. */
const MEMBER_PASSWORD = "the member's own passphrase";

interface Caller {
  name: "anonymous" | "member" | "admin";
  email: string | null;
  password: string | null;
  cookie: string | null;
}

/** How a form field is filled: values the page's own form sends, and values it never sends but a person could type. */
interface FieldSpec {
  valid: fc.Arbitrary<string>;
  edge: readonly string[];
}

const field = (valid: readonly string[] | fc.Arbitrary<string>, edge: readonly string[] = []): FieldSpec => ({
  valid: valid instanceof fc.Arbitrary ? valid : fc.constantFrom(...valid),
  edge,
});

/** A dashboard page that takes POSTs: the paths it answers, Remix's route id (for `?_data=`, what fetchers send), and its forms' fields. */
interface FormRoute {
  paths: fc.Arbitrary<string>;
  /** How often it is picked relative to the others. @default 3 */
  weight?: number;
  routeId: string;
  fields: Record<string, FieldSpec>;
}

const ENCODINGS = [
  "urlencoded",
  "multipart",
  "multipart-files",
  "truncated-multipart",
  "broken-urlencoding",
  "json",
  "text",
  "no-boundary",
  "wrong-boundary",
  "no-content-type",
] as const;
type Encoding = (typeof ENCODINGS)[number];

interface FormPost {
  path: string;
  routeId: string;
  /** A fetcher's request (`?_data=`) rather than a document POST. */
  data: boolean;
  /** null: no Origin header (a non-browser client, allowed). */
  origin: string | null;
  encoding: Encoding;
  fields: [string, string][];
  /** Where a truncated multipart body is cut, as a fraction of its length. */
  cut: number;
}

/** Values no form sends: control characters, unpaired surrogates, numbers out of range, JSON, injection-shaped and overlong text. */
const hostile: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.constantFrom(
    ...["", " ", "\0", "a\0b", "\ud800", "\u202e", "💥", "null", "undefined", "true", "[]", "{}", '{"__proto__":{"role":"admin"}}', '{"a":"\\u0000"}'],
    ...["-1", "0", "-0", "1.5", "1e309", "-1e309", "NaN", "Infinity", "9007199254740993", "99999999999999999999", "0x10", " 7 "],
    ...["<script>alert(1)</script>", "' OR 1=1 --", "../../etc/passwd", "%00", "\r\n\r\n", "__proto__", "constructor", "toString"],
  ),
  fc.integer().map(String),
  fc.double().map(String),
  fc.bigInt().map(String),
  fc.json({ maxDepth: 2 }),
  // Overlong, but bodies stay well under 100 KB: bigger ones have a test of their own below.
  fc.tuple(fc.constantFrom(300, 2_000), fc.constantFrom("x", "é", "💥", "\0", " ")).map(([length, char]) => char.repeat(length)),
);

const unknownFields = fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "ownerId", "role", "_data")), hostile), { maxLength: 2 });

/**
 * A form's fields, half the time as the page sends them with one field off (hostile, missing or
 * repeated, or none off), so the action's deeper checks and its success path are reached; the other
 * half every field at random. Then a few fields no form has.
 */
function formFields(spec: Record<string, FieldSpec>): fc.Arbitrary<[string, string][]> {
  const names = Object.keys(spec);
  if (names.length === 0) return unknownFields;
  const offValue = (name: string) => (spec[name]!.edge.length > 0 ? fc.oneof(hostile, fc.constantFrom(...spec[name]!.edge)) : hostile);
  const oneOff = fc
    .record(Object.fromEntries(names.map((name) => [name, spec[name]!.valid])))
    .chain((valid) =>
      fc.constantFrom(...names).chain((off) =>
        fc.oneof(fc.constant<string[]>([valid[off]!]), fc.constant<string[]>([]), offValue(off).map((v) => [v]), offValue(off).map((v) => [valid[off]!, v])).map((values) => [
          ...names.filter((name) => name !== off).map((name): [string, string] => [name, valid[name]!]),
          ...values.map((v): [string, string] => [off, v]),
        ]),
      ),
    );
  const anyValue = (name: string) => fc.oneof({ weight: 2, arbitrary: spec[name]!.valid }, { weight: 2, arbitrary: offValue(name) });
  const random = fc
    .tuple(
      ...names.map((name) =>
        fc
          .oneof(fc.constant<string[]>([]), { weight: 6, arbitrary: anyValue(name).map((v) => [v]) }, fc.array(anyValue(name), { minLength: 2, maxLength: 3 }))
          .map((values) => values.map((v): [string, string] => [name, v])),
      ),
    )
    .map((lists) => lists.flat());
  return fc.tuple(fc.oneof(oneOff, random), unknownFields).map(([known, extra]) => [...known, ...extra]);
}

async function encode({ encoding, fields, cut }: FormPost): Promise<{ body: BodyInit; contentType?: string }> {
  const urlencoded = new URLSearchParams(fields).toString();
  const form = new FormData();
  for (const [name, value] of fields) {
    if (encoding === "multipart-files") form.append(name, new Blob([value]), "upload.txt");
    else form.append(name, value);
  }
  switch (encoding) {
    case "urlencoded":
      return { body: urlencoded, contentType: "application/x-www-form-urlencoded" };
    case "multipart":
    case "multipart-files":
      return { body: form };
    case "truncated-multipart": {
      const whole = new Request("http://localhost/", { method: "POST", body: form });
      const bytes = new Uint8Array(await whole.arrayBuffer());
      return { body: bytes.slice(0, Math.floor(bytes.length * cut)), contentType: whole.headers.get("content-type")! };
    }
    case "broken-urlencoding":
      return { body: `${urlencoded}&%E0%A4%A=%zz&%FF%FE=%00&=&&%`, contentType: "application/x-www-form-urlencoded" };
    case "json":
      return { body: JSON.stringify(Object.fromEntries(fields)), contentType: "application/json" };
    case "text":
      return { body: fields.map(([name, value]) => `${name}=${value}`).join("\n"), contentType: "text/plain" };
    case "no-boundary":
      return { body: urlencoded, contentType: "multipart/form-data" };
    case "wrong-boundary":
      return { body: urlencoded, contentType: "multipart/form-data; boundary=----nope" };
    case "no-content-type":
      // Bytes, not a string: fetch would label a string text/plain.
      return { body: new TextEncoder().encode(urlencoded) };
  }
}

/** How a failing request reads in the assertion message: values cut short. */
function describePost(caller: Caller, post: FormPost): string {
  const fields = post.fields.map(([name, value]) => [name.slice(0, 40), value.length > 80 ? `${value.slice(0, 80)}…(${value.length})` : value]);
  return `${caller.name} ${post.encoding} POST ${post.path}${post.data ? ` (_data)` : ""} origin=${post.origin} ${JSON.stringify(fields)}`;
}

/** Log lines this process wrote at error level or above since byte `offset` of the run's log file (other workers write to it too). */
function errorsLoggedSince(offset: number): string[] {
  const file = process.env.KEYWARD_LOG_FILE;
  if (!file) throw new Error("KEYWARD_LOG_FILE is unset: run this file through vitest (its globalSetup captures the logs)");
  const ours = `"pid":${process.pid},`;
  return fs
    .readFileSync(file)
    .subarray(offset)
    .toString("utf8")
    .split("\n")
    .filter((line) => line.includes(ours) && ["error", "fatal"].includes((JSON.parse(line) as { level?: string }).level ?? ""));
}

const logSize = () => fs.statSync(process.env.KEYWARD_LOG_FILE!).size;

/**
 * Each fuzz test's budget: shrinking a failure stops before the test's timeout, so the smallest
 * counterexample found by then is reported. A run cut short by the budget fails: fewer cases than
 * asked for must never pass as a clean run.
 */
const FUZZ_TIMEOUT_MS = 60_000;
const runs = (numRuns: number) => ({ numRuns, interruptAfterTimeLimit: FUZZ_TIMEOUT_MS - 15_000, markInterruptAsFailure: true });

/** The actions that read their form: past MAX_BODY_BYTES each answers 413, once the caller is past its guard. */
const FORM_READERS = new Set(["routes/login", "routes/_app.keys._index", "routes/_app.keys.new", "routes/_app.keys.$id", "routes/_app.users", "routes/_app.account", "routes/_app.security"]);

const OVERSIZE_SHAPES = ["declared", "chunked", "multipart-field", "multipart-file"] as const;
type OversizeShape = (typeof OVERSIZE_SHAPES)[number];

/** A form of about `bytes` bytes: its route's first field, then one huge field, as a declared body, a chunked stream, or multipart. */
function oversizedBody(shape: OversizeShape, firstField: [string, string], bytes: number): { body: BodyInit; contentType?: string } {
  const huge = "x".repeat(bytes);
  switch (shape) {
    case "declared":
      return { body: new TextEncoder().encode(`${new URLSearchParams([firstField])}&name=${huge}`), contentType: "application/x-www-form-urlencoded" };
    case "chunked": {
      // A stream: fetch sends it without Content-Length, so only counting the bytes can stop it.
      const text = new TextEncoder().encode(`${new URLSearchParams([firstField])}&name=${huge}`);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < text.length; at += 16_384) controller.enqueue(text.subarray(at, at + 16_384));
          controller.close();
        },
      });
      return { body, contentType: "application/x-www-form-urlencoded" };
    }
    case "multipart-field":
    case "multipart-file": {
      const form = new FormData();
      form.append(...firstField);
      if (shape === "multipart-file") form.append("upload", new Blob([huge]), "upload.txt");
      else form.append("name", huge);
      return { body: form };
    }
  }
}

/**
 * Property-based fuzzing of every dashboard form action over HTTP, as anonymous, a member and an
 * admin: whatever the body, never a 500, never a redirect off the site, a foreign Origin always
 * refused, and no stored change the caller had no right to make.
 */
describe("fuzzing the dashboard's form actions", () => {
  let app: RunningApp;
  let admin: Awaited<ReturnType<typeof createUser>>;
  let other: Awaited<ReturnType<typeof createUser>>;
  let memberId: string;
  let memberEmail: string;
  let adminCookie: string;
  let memberCookie: string;
  const keyIds: string[] = [];
  let alertId: string;
  let ruleIds: string[];
  let routes: FormRoute[];

  beforeAll(async () => {
    app = await startApp();
    // The fuzz posts many wrong passwords: a throttle that never trips, so they all reach the password check (the throttle has tests of its own).
    app.keyward.loginFailures = new LoginThrottle({ limit: 1_000_000 });
    admin = await createUser(app.keyward, "admin");
    other = await createUser(app.keyward, "member");
    memberEmail = `member-${Date.now()}@example.test`;
    memberId = (await app.keyward.users.create(system, { email: memberEmail, password: MEMBER_PASSWORD, role: "member" })).id;
    adminCookie = await login(app, admin.email, TEST_PASSWORD);
    memberCookie = await login(app, memberEmail, MEMBER_PASSWORD);

    const create = async (ownerId: string, name: string, recoverable = false) =>
      (await app.keyward.keys.create(system, { name, scopes: ["read", "write"], ownerId, recoverable, expiresInDays: 30 })).apiKey.id;
    const victim = await create(other.id, "victim", true);
    const disabledVictim = await create(other.id, "disabled victim");
    await app.keyward.keys.disable(system, disabledVictim);
    keyIds.push(victim, disabledVictim, await create(admin.id, "admin's"), await create(memberId, "member's", true), await create(memberId, "member's second"));

    // An open alert (a revoked key used), for the security page's ack and resolve.
    const revoked = await app.keyward.keys.create(system, { name: "revoked", scopes: ["read"], ownerId: other.id, expiresInDays: 30 });
    await app.keyward.keys.revoke(system, revoked.apiKey.id);
    await fetch(`${app.url}/api/v1/me`, { headers: { Authorization: `Bearer ${revoked.key}` } });
    await app.keyward.securityEvents.flush();
    // Its last use is written in the background: written now, it cannot land between the snapshots below.
    await (app.keyward.usage as UsageRecorder).flush();
    alertId = (await app.keyward.security.listAlerts(system, {})).data[0]!.id;
    ruleIds = (await app.keyward.database.db.select({ id: alertRules.id }).from(alertRules)).map((rule) => rule.id);

    const userIds = [admin.id, other.id, memberId];
    const keyFields = {
      name: field(["renamed key"]),
      description: field(["changed", ""]),
      scopes: field(["read", "write", "admin"], ["root", "READ"]),
      allowedIps: field(["", "10.0.0.0/8", "::1\n10.0.0.1"], ["999.1.1.1", "10.0.0.1/33\nfe80::1%eth0", "0.0.0.0/0\n".repeat(120)]),
      expiresOn: field(["2031-06-30"], ["2000-01-01", "9999-99-99", "2030-02-30", "0000-00-00", "2999-01-01"]),
      tzOffset: field(["0", "-120", "300"], ["-841", "1e9"]),
      ownerId: field(userIds, ["usr_00000000000000000000"]),
    };
    routes = [
      {
        paths: fc.constant("/login"),
        routeId: "routes/login",
        fields: {
          email: field([memberEmail, admin.email, other.email, "nobody@example.test"], [` ${memberEmail.toUpperCase()} `, "a\0b@example.test"]),
          password: field(["wrong password", MEMBER_PASSWORD]),
          redirectTo: field(["/keys", "/users"], ["//evil.example", "https://evil.example", "/\\evil.example", "javascript:alert(1)"]),
        },
      },
      { paths: fc.constant("/logout"), routeId: "routes/logout", fields: {} },
      {
        // Without `?index` a POST to /keys reaches the index route's action all the same.
        paths: fc.constantFrom("/keys?index", "/keys"),
        routeId: "routes/_app.keys._index",
        fields: { intent: field(["disable", "enable", "revoke"], ["reveal", "rotate", "delete"]), id: field(keyIds, ["key_00000000000000000000"]) },
      },
      {
        paths: fc.constant("/keys/new"),
        routeId: "routes/_app.keys.new",
        fields: {
          ...keyFields,
          expiry: field(["7", "30", "90", "custom"], ["never", "0", "3651", "-1"]),
          metadata: field(["", '{"plan":"pro"}'], ["[1]", "{", '{"a":"\\u0000"}', `{"a":${"[".repeat(50)}${"]".repeat(50)}}`]),
          rateLimitRequests: field(["", "100"], ["0", "1000001"]),
          rateLimitWindow: field(["", "60"], ["0", "86401"]),
          recoverable: field(["on", "off"]),
        },
      },
      {
        paths: fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...keyIds, "key_00000000000000000000") },
          { weight: 1, arbitrary: fc.constantFrom("key_%E0%A4%A", "%00", "x".repeat(300)) },
        ).map((id) => `/keys/${id}`),
        routeId: "routes/_app.keys.$id",
        fields: {
          ...keyFields,
          intent: field(["update", "disable", "enable", "revoke", "reveal", "rotate"], ["delete"]),
          field: field(["name", "description", "scopes", "rateLimit", "allowedIps", "expiresAt"], ["ownerId", "metadata"]),
          requests: field(["", "10"], ["0", "1000001"]),
          windowSeconds: field(["", "60"], ["0", "86401"]),
          never: field(["on", "off"]),
          gracePeriodSeconds: field(["0", "60", "604800"], ["604801", "-1"]),
        },
      },
      {
        paths: fc.constant("/users"),
        routeId: "routes/_app.users",
        fields: {
          intent: field(["create", "setRole", "disable", "enable"], ["delete"]),
          email: field(fc.nat().map((n) => `fuzzed-${n}@example.test`), [memberEmail, "not an email"]),
          password: field(["a long enough password"], ["short"]),
          role: field(["admin", "member"], ["root"]),
          id: field(userIds, ["usr_00000000000000000000"]),
        },
      },
      {
        paths: fc.constant("/account"),
        routeId: "routes/_app.account",
        fields: {
          intent: field(["changePassword", "endSession", "endOtherSessions"], ["logout"]),
          // Never the right one: a changed password would lock the fuzz's own sign-ins out.
          currentPassword: field(["wrong password"]),
          newPassword: field(["a new long password"], ["short"]),
          confirmPassword: field(["a new long password"]),
          // The admin's session, the member's, and none: a member may end only their own.
          handle: field([adminCookie, memberCookie].map((cookie) => sessionHandle(cookie.slice(cookie.indexOf("=") + 1))), ["0".repeat(24)]),
        },
      },
      {
        paths: fc.constant("/security"),
        routeId: "routes/_app.security",
        fields: {
          intent: field(["ack", "resolve", "rule"], ["delete"]),
          id: field([alertId, ...ruleIds], ["alr_00000000000000000000"]),
          enabled: field(["on", "off"]),
          threshold: field(["5", "50"], ["0", "1000001"]),
          windowMinutes: field(["1", "60"], ["0", "10081"]),
        },
      },
      // Pages without an action: a POST is refused, never a crash.
      ...[
        [`/users/${other.id}`, "routes/_app.users_.$id"],
        ["/audit", "routes/_app.audit"],
        ["/audit/export", "routes/audit.export"],
        ["/overview", "routes/_app.overview"],
      ].map(([path, routeId]) => ({ paths: fc.constant(path!), weight: 1, routeId: routeId!, fields: { intent: field(["create", "delete"]), id: field(keyIds) } })),
    ];
  });
  afterAll(() => app?.close());

  const formPost = (): fc.Arbitrary<FormPost> => {
    const transport = {
      data: fc.boolean(),
      origin: fc.oneof({ weight: 12, arbitrary: fc.constant<string | null>(app.url) }, { weight: 1, arbitrary: fc.constantFrom(null, "null", "https://evil.example", "http://127.0.0.1") }),
      encoding: fc.oneof({ weight: 6, arbitrary: fc.constantFrom<Encoding>("urlencoded", "multipart") }, { weight: 4, arbitrary: fc.constantFrom(...ENCODINGS) }),
      cut: fc.double({ min: 0, max: 0.99, noNaN: true }),
    };
    return fc.oneof(
      ...routes.map((route) => ({
        weight: route.weight ?? 3,
        arbitrary: fc.record({ routeId: fc.constant(route.routeId), path: route.paths, fields: formFields(route.fields), ...transport }),
      })),
    );
  };

  async function send(caller: Caller, post: FormPost): Promise<void> {
    const separator = post.path.includes("?") ? "&" : "?";
    const url = `${app.url}${post.path}${post.data ? `${separator}_data=${encodeURIComponent(post.routeId)}` : ""}`;
    const { body, contentType } = await encode(post);
    const headers: Record<string, string> = {};
    if (contentType) headers["Content-Type"] = contentType;
    if (post.origin !== null) headers.Origin = post.origin;
    if (caller.cookie) headers.Cookie = caller.cookie;
    const response = await fetch(url, { method: "POST", redirect: "manual", headers, body });
    const text = await response.text();
    const what = `${describePost(caller, post)} → ${response.status} ${text.slice(0, 300)}`;
    expect(response.status, what).toBeGreaterThanOrEqual(200);
    expect(response.status, what).toBeLessThan(500);
    if (post.origin !== null && post.origin !== app.url) expect(response.status, what).toBe(403);
    const location = response.headers.get("location") ?? response.headers.get("x-remix-redirect");
    if (location) expect(new URL(location, app.url).origin, what).toBe(app.url);
    // A logout, or a session ended by the fuzz, signs the caller out: sign in again so later posts still reach the actions.
    if (caller.cookie && !(await app.keyward.auth.fromRequest(new Request(app.url, { headers: { Cookie: caller.cookie } })))) {
      caller.cookie = await login(app, caller.email!, caller.password!);
    }
  }

  /** Everything `callerId` has no right to change, read straight from the tables. */
  async function outOfReach(callerId: string | null) {
    const db = app.keyward.database.db;
    const keys = await db.select().from(apiKeys).orderBy(apiKeys.id);
    const userRows = await db.select().from(users).orderBy(users.id);
    // The member's own sessions come and go with the fuzz's logins and logouts (anyone with the member's password may sign in).
    const sessionRows = await db.select().from(sessions).orderBy(sessions.id);
    const rules = await db.select().from(alertRules).orderBy(alertRules.id);
    // Alerts may fire during the fuzz (failed sign-ins); the one set up before must not be acknowledged or resolved.
    const alertStates = await db
      .select({ id: alerts.id, status: alerts.status, ackedBy: alerts.ackedBy, ackedAt: alerts.ackedAt, resolvedBy: alerts.resolvedBy, resolvedAt: alerts.resolvedAt })
      .from(alerts)
      .where(inArray(alerts.id, [alertId]));
    return {
      keys: keys.filter((key) => key.ownerId !== callerId),
      users: userRows,
      sessions: sessionRows.filter((session) => session.userId !== memberId),
      rules,
      alertStates,
    };
  }

  it("a big body is answered, read or not: never a stalled or reset connection", async () => {
    const big = new URLSearchParams({ intent: "create", name: "x".repeat(500_000) }).toString();
    const outcomes: string[] = [];
    // Anonymous posts are sent to sign in and a POST to a page without an action is refused, both before the body is read.
    for (let round = 0; round < 3; round++) {
      for (const [path, cookie] of [
        ["/keys/new", null],
        ["/keys?index", null],
        ["/audit", memberCookie],
        ["/keys/new", memberCookie],
      ] as const) {
        const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded", Origin: app.url };
        if (cookie) headers.Cookie = cookie;
        // A connection left holding the unread body stalls until the keep-alive timeout resets it: cut that short.
        const outcome = await fetch(`${app.url}${path}`, { method: "POST", redirect: "manual", headers, body: big, signal: AbortSignal.timeout(4_000) }).then(
          async (response) => {
            await response.arrayBuffer();
            return String(response.status);
          },
          (error: Error) => (error.cause as { code?: string } | undefined)?.code ?? error.name,
        );
        outcomes.push(`${cookie ? "member" : "anonymous"} POST ${path} → ${outcome}`);
      }
    }
    expect(outcomes.filter((outcome) => !/ → [234]\d\d$/.test(outcome))).toEqual([]);
  }, FUZZ_TIMEOUT_MS);

  // What the fuzz found, kept as plain cases: a property stops at its first failure, so one bug can hide another.
  it.each([
    { what: "a key list action with a broken multipart body", path: () => "/keys?index", contentType: "multipart/form-data; boundary=----nope", body: "intent=disable", member: true },
    { what: "a key page action with a text/plain body", path: () => `/keys/${keyIds[3]}`, contentType: "text/plain", body: "intent=disable", member: true },
    // Signed out: a signed-in user's document POST to /login ends in the page loader's redirect to /keys.
    { what: "a sign-in with a NUL in the email", path: () => "/login", contentType: "application/x-www-form-urlencoded", body: "email=a%00b%40example.test&password=x", member: false },
  ])("$what is the client's 4xx, not a 500", async ({ path, contentType, body, member }) => {
    const headers: Record<string, string> = { "Content-Type": contentType, Origin: app.url };
    if (member) headers.Cookie = memberCookie;
    const response = await fetch(`${app.url}${path()}`, { method: "POST", redirect: "manual", headers, body });
    await response.arrayBuffer();
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
  });

  /** A route, one of its paths and its first field with a value its page sends (so the action gets as far as reading the form). */
  const formTarget = (candidates: FormRoute[]) =>
    fc.constantFrom(...candidates).chain((route) => {
      const [name, spec] = Object.entries(route.fields)[0] ?? ["intent", field(["create"])];
      return fc.record({ route: fc.constant(route), path: route.paths, first: spec.valid.map((value): [string, string] => [name, value]) });
    });

  /** Whether `caller` gets past the action's guards to reading its form: a key page checks its id first. */
  const readsForm = (route: FormRoute, path: string, caller: string) =>
    FORM_READERS.has(route.routeId) &&
    (caller === "admin" || route.routeId === "routes/login") &&
    (route.routeId !== "routes/_app.keys.$id" || keyIdSchema.safeParse(path.slice("/keys/".length)).success);

  it("oversized forms, declared or streamed, in fields or files: 413 from every action that reads one, never a 500", async () => {
    const logOffset = logSize();
    const cookies = { anonymous: null, member: await login(app, memberEmail, MEMBER_PASSWORD), admin: await login(app, admin.email, TEST_PASSWORD) };
    const before = await outOfReach(null);
    await fc.assert(
      fc.asyncProperty(
        // Not /logout: it reads no form, and would sign the callers out of the rest of the run.
        formTarget(routes.filter((route) => route.routeId !== "routes/logout")),
        fc.constantFrom(...(Object.keys(cookies) as (keyof typeof cookies)[])),
        fc.constantFrom(...OVERSIZE_SHAPES),
        fc.oneof(fc.integer({ min: MAX_BODY_BYTES + 1, max: MAX_BODY_BYTES + 4_096 }), fc.integer({ min: 100_000, max: 4_000_000 })),
        fc.boolean(),
        async ({ route, path, first }, caller, shape, bytes, data) => {
          const { body, contentType } = oversizedBody(shape, first, bytes);
          const headers: Record<string, string> = { Origin: app.url };
          if (contentType) headers["Content-Type"] = contentType;
          const cookie = cookies[caller];
          if (cookie) headers.Cookie = cookie;
          const separator = path.includes("?") ? "&" : "?";
          const url = `${app.url}${path}${data ? `${separator}_data=${encodeURIComponent(route.routeId)}` : ""}`;
          const response = await fetch(url, { method: "POST", redirect: "manual", headers, body, duplex: "half" } as RequestInit);
          const text = await response.text();
          const what = `${caller} ${shape} ${bytes} B POST ${url} → ${response.status} ${text.slice(0, 200)}`;
          expect(response.status, what).toBeLessThan(500);
          if (readsForm(route, path, caller)) {
            expect(response.status, what).toBe(413);
            expect(response.headers.get("connection"), what).toBe("close");
          }
        },
      ),
      runs(60),
    );
    expect(await outOfReach(null)).toEqual(before);
    expect(errorsLoggedSince(logOffset)).toEqual([]);
  }, FUZZ_TIMEOUT_MS);

  it("a form just under 64 KiB is read and judged on its fields: never a 413 or a 500", async () => {
    const cookie = await login(app, admin.email, TEST_PASSWORD);
    await fc.assert(
      fc.asyncProperty(formTarget(routes.filter((route) => FORM_READERS.has(route.routeId))), async ({ path, first }) => {
        const prefix = `${new URLSearchParams([first])}&name=`;
        const body = `${prefix}${"x".repeat(MAX_BODY_BYTES - Buffer.byteLength(prefix))}`;
        const response = await fetch(`${app.url}${path}`, {
          method: "POST",
          redirect: "manual",
          headers: { Origin: app.url, "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie },
          body,
        });
        await response.arrayBuffer();
        expect(response.status, `${path} with ${Buffer.byteLength(body)} bytes`).not.toBe(413);
        expect(response.status, `${path} with ${Buffer.byteLength(body)} bytes`).toBeLessThan(500);
      }),
      runs(20),
    );
  }, FUZZ_TIMEOUT_MS);

  it("anonymous: never a 500, and nothing stored changes", async () => {
    const logOffset = logSize();
    const caller: Caller = { name: "anonymous", email: null, password: null, cookie: null };
    const before = await outOfReach(null);
    await fc.assert(
      fc.asyncProperty(formPost(), (post) => send(caller, post)),
      runs(80),
    );
    expect(await outOfReach(null)).toEqual(before);
    expect(errorsLoggedSince(logOffset)).toEqual([]);
  }, FUZZ_TIMEOUT_MS);

  it("a member: never a 500, and nothing changes outside the member's own keys and sessions", async () => {
    const logOffset = logSize();
    const caller: Caller = { name: "member", email: memberEmail, password: MEMBER_PASSWORD, cookie: memberCookie };
    const before = await outOfReach(memberId);
    await fc.assert(
      fc.asyncProperty(formPost(), (post) => send(caller, post)),
      runs(200),
    );
    expect(await outOfReach(memberId)).toEqual(before);
    expect(errorsLoggedSince(logOffset)).toEqual([]);
  }, FUZZ_TIMEOUT_MS);

  it("an admin: never a 500, and the dashboard still works afterwards", async () => {
    const logOffset = logSize();
    const caller: Caller = { name: "admin", email: admin.email, password: TEST_PASSWORD, cookie: adminCookie };
    await fc.assert(
      fc.asyncProperty(formPost(), (post) => send(caller, post)),
      runs(150),
    );
    expect(errorsLoggedSince(logOffset)).toEqual([]);
    // The admin can neither disable nor demote themself, so a fresh sign-in must work and every page load.
    app.keyward.loginFailures = new LoginThrottle();
    const cookie = await login(app, admin.email, TEST_PASSWORD);
    for (const [path, routeId] of [
      ["/keys", "routes/_app.keys._index"],
      ["/users", "routes/_app.users"],
      ["/security", "routes/_app.security"],
      ["/account", "routes/_app.account"],
      [`/keys/${keyIds[0]}`, "routes/_app.keys.$id"],
    ]) {
      for (const url of [`${app.url}${path}`, `${app.url}${path}?_data=${encodeURIComponent(routeId!)}`]) {
        const response = await fetch(url, { headers: { Cookie: cookie } });
        await response.arrayBuffer();
        expect(response.status, `GET ${url}`).toBe(200);
      }
    }
  }, FUZZ_TIMEOUT_MS);
});
