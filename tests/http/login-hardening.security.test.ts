import http from "node:http";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../app/lib/http.server";
import { createUser, TEST_PASSWORD } from "../support/keyward";
import { login, startApp, type RunningApp } from "../support/server";

const MB = 1024 * 1024;

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Body bytes written before the answer came. */
  sent: number;
}

/**
 * POSTs a urlencoded sign-in form whose email is `totalBytes` long, written in 64 KiB pieces as the
 * socket takes them (never held whole by the client), with or without a Content-Length. Writing
 * stops once the answer arrives: the server closes the connection on a 413.
 */
function postHugeForm(app: RunningApp, totalBytes: number, declared: boolean, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const prefix = Buffer.from("password=x&email=");
  const piece = Buffer.alloc(64 * 1024, "a");
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const request = http.request(`${app.url}/login`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: app.url, ...(declared ? { "Content-Length": String(totalBytes) } : {}), ...headers },
    });
    request.on("response", (response) => {
      answered = true;
      const parts: Buffer[] = [];
      response.on("data", (part: Buffer) => parts.push(part));
      response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(parts).toString(), sent }));
      response.on("error", reject);
    });
    // Once answered, the server cuts the upload short: that write error is the expected end.
    request.on("error", (error) => {
      if (!answered) reject(error);
    });
    const write = () => {
      while (!answered && sent < totalBytes) {
        const next = sent === 0 ? prefix : piece.subarray(0, Math.min(piece.length, totalBytes - sent));
        sent += next.length;
        if (!request.write(next)) return void request.once("drain", write);
      }
      if (!answered) request.end();
    };
    write();
  });
}

/** The test process's live heap after full collections (the app runs in this process). */
const collect = (() => {
  v8.setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

async function heapAfterGc(): Promise<number> {
  // Two passes with a turn of the event loop between: closed sockets and finished requests are released in between.
  collect();
  await new Promise((resolve) => setImmediate(resolve));
  collect();
  return process.memoryUsage().heapUsed;
}

/** Runs `task` for 0…count-1, `concurrency` at a time. */
async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

describe("the sign-in form under memory pressure", () => {
  let app: RunningApp;

  beforeAll(async () => {
    // Every flood request comes from an address of its own, as from a botnet: no address is throttled.
    app = await startApp({ env: { KEYWARD_TRUST_PROXY: "1" } });
  });
  afterAll(() => app?.close());

  const signIn = (fields: Record<string, string>, from = "192.0.2.200") =>
    fetch(`${app.url}/login?_data=routes%2Flogin`, {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: app.url, "X-Forwarded-For": from },
      body: new URLSearchParams(fields),
    });

  it("refuses a form past 64 KiB with 413 and Connection: close, with or without Content-Length, reading no more than the limit", async () => {
    for (const declared of [true, false]) {
      const answer = await postHugeForm(app, 50 * MB, declared);
      expect(answer.status, `declared=${declared}`).toBe(413);
      expect(answer.headers.connection).toBe("close");
      // Answered long before the 50 MB were sent (the socket buffers hold a few MB at most).
      expect(answer.sent).toBeLessThan(10 * MB);
    }
    // Just over the limit, from a fetcher (what the page's own form sends): the thrown 413 as it is.
    const over = await signIn({ email: "a".repeat(MAX_BODY_BYTES), password: "x" });
    expect(over.status).toBe(413);
    expect(over.headers.get("connection")).toBe("close");
    // Just under it is read, and judged on its fields.
    const under = await signIn({ email: "a".repeat(MAX_BODY_BYTES - 100), password: "x" });
    expect(under.status).toBe(422);
  });

  it("answers an email over 254 or a password over 1 024 characters with 422 and a field error, before the throttle counts anything", async () => {
    const before = app.keyward.loginFailures.size;
    const email = await signIn({ email: `${"e".repeat(242)}@example.test`, password: "wrong password" });
    expect(email.status).toBe(422);
    expect(((await email.json()) as { fieldErrors: Record<string, string[]> }).fieldErrors.email).toEqual(["An email has at most 254 characters"]);
    const password = await signIn({ email: "someone@example.test", password: "p".repeat(1_025) });
    expect(password.status).toBe(422);
    expect(((await password.json()) as { fieldErrors: Record<string, string[]> }).fieldErrors.password).toEqual(["A password has at most 1024 characters"]);
    expect(app.keyward.loginFailures.size).toBe(before);
    // At the bounds, the sign-in goes ahead (and fails as a wrong password does).
    expect((await signIn({ email: `${"e".repeat(241)}@example.test`, password: "p".repeat(1_024) })).status).toBe(401);
  });

  it("refuses a password over 1 024 characters wherever one is set or changed, as a field error", async () => {
    const admin = await createUser(app.keyward, "admin");
    const cookie = await login(app, admin.email, TEST_PASSWORD);
    const post = (path: string, routeId: string, fields: Record<string, string>) =>
      fetch(`${app.url}${path}?_data=${encodeURIComponent(routeId)}`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: app.url, Cookie: cookie },
        body: new URLSearchParams(fields),
      });
    const long = "p".repeat(1_025);
    const created = await post("/users", "routes/_app.users", { intent: "create", email: "long-password@example.test", password: long, role: "member" });
    expect(created.status).toBeGreaterThanOrEqual(400);
    expect(created.status).toBeLessThan(500);
    expect(await app.keyward.users.findByEmail("long-password@example.test")).toBeNull();
    for (const [field, values] of [
      ["newPassword", { currentPassword: TEST_PASSWORD, newPassword: long, confirmPassword: long }],
      ["currentPassword", { currentPassword: long, newPassword: "a new long password", confirmPassword: "a new long password" }],
    ] as const) {
      const changed = await post("/account", "routes/_app.account", { intent: "changePassword", ...values });
      expect(changed.status, field).toBeGreaterThanOrEqual(400);
      expect(changed.status, field).toBeLessThan(500);
      expect(Object.keys(((await changed.json()) as { fieldErrors: Record<string, string[]> }).fieldErrors), field).toEqual([field]);
    }
    // The password did not change.
    expect(await login(app, admin.email, TEST_PASSWORD)).toMatch(/=/);
  });

  it("keeps the heap within 16 MB of where it started through 50 MB forms, MB-sized emails and 2 000 failures with distinct 254-character emails", async () => {
    const user = await createUser(app.keyward, "member");
    // Warm up every path measured below, so the baseline holds their code and caches.
    await login(app, user.email, TEST_PASSWORD);
    for (let i = 0; i < 20; i++) expect((await signIn({ email: `warm-${i}@example.test`, password: "wrong password" }, `198.18.0.${i}`)).status).toBe(401);
    await postHugeForm(app, 1 * MB, false);
    const baseline = await heapAfterGc();
    const trackedBefore = app.keyward.loginFailures.size;

    for (const declared of [true, false, true, false]) expect((await postHugeForm(app, 50 * MB, declared)).status).toBe(413);
    // MB-sized emails (what once stayed in the throttle as map keys) are refused before it.
    for (let i = 0; i < 4; i++) expect((await postHugeForm(app, 8 * MB, i % 2 === 0, { "X-Forwarded-For": `198.18.1.${i}` })).status).toBe(413);
    for (let i = 0; i < 20; i++) expect((await signIn({ email: `${String(i).padStart(3, "0")}${"x".repeat(60_000)}@example.test`, password: "x" }, `198.18.2.${i}`)).status).toBe(422);
    expect(app.keyward.loginFailures.size).toBe(trackedBefore);
    const afterHuge = await heapAfterGc();

    // A flood of distinct long emails, each a counted failure from an address of its own.
    const FLOOD = 2_000;
    await inParallel(FLOOD, 8, async (i) => {
      const email = `${String(i).padStart(6, "0")}${"f".repeat(254 - 6 - "@example.test".length)}@example.test`;
      const response = await signIn({ email, password: "wrong password" }, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
      await response.arrayBuffer();
      expect(response.status).toBe(401);
    });
    // Three counters (address, account from address, account), one entry each per failure.
    expect(app.keyward.loginFailures.size).toBe(trackedBefore + 3 * FLOOD);
    const afterFlood = await heapAfterGc();

    const grown = { afterHugeMB: (afterHuge - baseline) / MB, afterFloodMB: (afterFlood - baseline) / MB };
    console.log(`heapUsed after GC: baseline ${(baseline / MB).toFixed(1)} MB; +${grown.afterHugeMB.toFixed(1)} MB after the huge forms; +${grown.afterFloodMB.toFixed(1)} MB after ${FLOOD} failures`);
    expect(grown.afterHugeMB).toBeLessThan(16);
    expect(grown.afterFloodMB).toBeLessThan(16);
  }, 120_000);
});
