import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { generateKey } from "../../app/lib/key-format";
import { createLogger, isSensitiveField, logLevelFrom, percentDecoded, redactFields, redactText, routeConsoleTo } from "../../app/lib/logger.server";

const KEY = generateKey();
const SESSION_ID = "abcdefghijklmnopqrstuvwxyz234567abcdefgh"; // lucia's shape: 40 × [a-z2-7]

/** A logger writing into an array of parsed lines. */
function capture(level: "debug" | "info" | "silent" = "debug") {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      raw.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ level, destination });
  return {
    logger,
    text: () => raw.join(""),
    lines: () => raw.join("").split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe("redaction in log lines", () => {
  it("replaces a key inside the message, and keeps the rest of it", () => {
    const log = capture();
    log.logger.info(`verifying ${KEY} for a client`);
    expect(log.lines()[0]!.msg).toBe("verifying [REDACTED_KEY] for a client");
    expect(log.text()).not.toContain(KEY);
  });

  it("replaces keys issued for APIs, whatever their prefix, and leaves Keyward's public ids readable", () => {
    const log = capture();
    const issued = ["ab", "acme_live", "abcdefghijkl"].map((prefix) => generateKey(prefix));
    const ids = "key_XYjWStqbyJ1FOCq5DyMl api_0123456789ABCDEFGHIJ idt_abcdefghijABCDEFGHIJ";
    log.logger.info({ path: `/api/v1/keys/${issued[0]}`, query: `k=${encodeURIComponent(issued[1]!)}` }, `verifying ${issued[2]} (${ids})`);
    for (const key of issued) {
      expect(log.text()).not.toContain(key.slice(-30));
    }
    const [line] = log.lines();
    expect(line).toMatchObject({ path: "/api/v1/keys/[REDACTED_KEY]", msg: `verifying [REDACTED_KEY] (${ids})` });
  });

  it("logs a failed session lookup's error without the session id in its query parameters", () => {
    const log = capture();
    // As drizzle throws it when the database goes away under lucia's session lookup (live.server.ts logs these).
    const error = Object.assign(new Error(`Failed query: select … where "sessions"."id" = $1\nparams: ${SESSION_ID}`), { query: 'select … where "sessions"."id" = $1', params: [SESSION_ID] });
    log.logger.error({ err: error }, "Live stream: could not re-check access; closing");
    expect(log.lines()[0]).toMatchObject({ msg: "Live stream: could not re-check access; closing", err: { params: ["[REDACTED]"] } });
    expect(log.text()).not.toContain(SESSION_ID);
  });

  it("replaces credential fields at any depth, and keys wherever a string holds one", () => {
    const log = capture();
    log.logger.info({ request: { body: { name: "ci", password: "hunter2", nested: [{ note: `key was ${KEY}` }] } }, keyId: "key_abc", keys: ["key_1"] }, "created");
    const [line] = log.lines();
    expect(line).toMatchObject({
      request: { body: { name: "ci", password: "[REDACTED]", nested: [{ note: "key was [REDACTED_KEY]" }] } },
      keyId: "key_abc",
      keys: ["key_1"],
    });
    expect(log.text()).not.toContain("hunter2");
  });

  it("redacts header names in any case", () => {
    const log = capture();
    const headers = {
      Authorization: `Bearer ${KEY}`,
      AUTHORIZATION: "Basic dXNlcjpwYXNz",
      "x-api-key": KEY,
      "X-Api-Key": "not-even-a-key",
      Cookie: `keyward_session=${SESSION_ID}`,
      "set-cookie": [`__Host-keyward_session=${SESSION_ID}; Path=/`],
      "Proxy-Authorization": "Basic abc",
      "user-agent": "curl/8",
    };
    log.logger.info({ req: { headers } }, "request");
    const logged = (log.lines()[0]!.req as { headers: Record<string, unknown> }).headers;
    for (const name of Object.keys(headers).filter((name) => name !== "user-agent")) expect(logged[name], name).toBe("[REDACTED]");
    expect(logged["user-agent"]).toBe("curl/8");
    expect(log.text()).not.toContain(SESSION_ID);
  });

  it("redacts an error's message, stack, cause and own fields", () => {
    const log = capture();
    const cause = new Error(`lookup failed for ${KEY}`);
    const error = Object.assign(new Error(`cannot verify ${KEY}`, { cause }), { password: "hunter2", response: { headers: { "X-API-Key": "abc" } } });
    log.logger.error({ err: error }, "verification failed");
    log.logger.error(error);
    const [first, second] = log.lines() as { err: { message: string; stack: string; password: string; response: { headers: Record<string, string> } } }[];
    expect(first!.err.message).toBe("cannot verify [REDACTED_KEY]: lookup failed for [REDACTED_KEY]");
    expect(first!.err.stack).toContain("Error: cannot verify [REDACTED_KEY]");
    expect(first!.err.stack).toContain("caused by: Error: lookup failed for [REDACTED_KEY]");
    expect(first!.err).toMatchObject({ password: "[REDACTED]", response: { headers: { "X-API-Key": "[REDACTED]" } } });
    expect(second!.err.message).toContain("[REDACTED_KEY]");
    expect(log.text()).not.toContain(KEY);
    expect(log.text()).not.toContain("hunter2");
  });

  it("redacts what a child logger is bound to", () => {
    const log = capture();
    log.logger.child({ requestId: "r1", token: "t0k3n" }).child({ apiKey: KEY }).info("bound");
    expect(log.lines()[0]).toMatchObject({ requestId: "r1", token: "[REDACTED]", apiKey: "[REDACTED]", msg: "bound" });
  });

  it("catches near-keys, URL-encoded keys, cookies, session ids, Bearer values and query values in text", () => {
    const mistyped = `${KEY.slice(0, 30)}${KEY[30] === "a" ? "b" : "a"}${KEY.slice(31)}`;
    const cases: [string, string][] = [
      [`truncated ${KEY.slice(0, -10)}`, "truncated [REDACTED_KEY]"],
      [`mistyped ${mistyped}`, "mistyped [REDACTED_KEY]"],
      [`GET /api/v1/keys/kw%5F${KEY.slice(3)}`, "GET /api/v1/keys/[REDACTED_KEY]"],
      [`Cookie: __Host-keyward_session=${SESSION_ID}; theme=dark`, "Cookie: __Host-keyward_session=[REDACTED]; theme=dark"],
      [`invalidating ${SESSION_ID}`, "invalidating [REDACTED]"],
      ["Authorization: Bearer abc.def-ghi", "Authorization: Bearer [REDACTED]"],
      ['No route matches "/x?password=correct%20horse&page=2#top"', 'No route matches "/x?password=[REDACTED]&page=[REDACTED]#top"'],
    ];
    for (const [input, expected] of cases) expect(redactText(input), input).toBe(expected);
    // The key display form (start and last 4) and public ids stay readable.
    expect(redactText("kw_AbCd…wxyz key_0123456789abcdefghij")).toBe("kw_AbCd…wxyz key_0123456789abcdefghij");
  });

  describe("a key percent-encoded in any way", () => {
    const hex = (char: string) => char.charCodeAt(0).toString(16).padStart(2, "0");
    const body = KEY.slice(3);
    const variants: [string, string][] = [
      ["the k encoded, behind a prefix (as reported)", `x%6Bw_${body}`],
      ["the k encoded, lower-case hex", `%6bw_${body}`],
      ["the prefix encoded", `%6B%77%5F${body}`],
      ["every character, upper-case hex", [...KEY].map((c) => `%${hex(c).toUpperCase()}`).join("")],
      ["every character, lower-case hex", [...KEY].map((c) => `%${hex(c)}`).join("")],
      ["every character, mixed-case hex", [...KEY].map((c, i) => `%${i % 2 ? hex(c).toUpperCase() : hex(c)}`).join("")],
      ["every other character", [...KEY].map((c, i) => (i % 2 ? `%${hex(c)}` : c)).join("")],
      ["double-encoded", `%256Bw_${body}`],
      ["double-encoded throughout", [...KEY].map((c) => `%25${hex(c)}`).join("")],
      ["triple-encoded, mixed", `%25256b%2577%5F${body}`],
      ["the percent itself encoded piecewise", `%25%36%42w_${body}`],
      ["after a malformed escape", `%zz%%6Bw_${body}`],
      ["after a non-ASCII escape", `%E2%82%AC%6Bw_${body}`],
      ["behind a + in a form-encoded value", `a+%6Bw_${body}+b`],
    ];

    it.each(variants)("is redacted in a path, a query and a message: %s", (_what, encoded) => {
      for (const text of [`/api/v1/keys/${encoded}`, `/api/v1/me?q=${encoded}&page=2`, `/api/v1/me?${encoded}=1`, `No route matches URL "/${encoded}"`]) {
        const redacted = redactText(text);
        expect(redacted, text).toContain("[REDACTED");
        expect(percentDecoded(redacted) ?? "", text).not.toContain(body.slice(0, 16));
        expect(redacted, text).not.toContain(body.slice(-16));
      }
      const log = capture();
      log.logger.info({ path: `/api/v1/keys/${encoded}`, query: `${encoded}=[REDACTED]` }, `GET /${encoded}`);
      expect(log.text()).not.toContain(body.slice(-16));
      expect(log.lines()[0]).toMatchObject({ path: "/api/v1/keys/[REDACTED_KEY]" });
    });

    it("redacts a part still encoded after eight passes whole, since it may hide a key", () => {
      let nested = `%6Bw_${body}`;
      for (let level = 0; level < 9; level++) nested = nested.replaceAll("%", "%25");
      expect(redactText(`/api/v1/keys/${nested}`)).toBe("/api/v1/keys/[REDACTED]");
    });

    it("leaves harmless escapes and malformed ones as they are", () => {
      for (const text of ["/files/caf%C3%A9/a%20b/%zz/%", "/api/v1/keys/key_0123456789abcdefghij%2Fx", "100% of %6Bw_short"]) expect(redactText(text)).toBe(text);
      expect(percentDecoded("%25%32%35")).toBe("%");
      expect(percentDecoded("%E2%82%AC%zz%")).toBe("%E2%82%AC%zz%");
    });

    it("never lets a key through, however each character is written and whatever surrounds it", () => {
      const spelled = fc
        .array(fc.constantFrom("raw", "upper", "lower", "double", "triple"), { minLength: KEY.length, maxLength: KEY.length })
        .map((ways) => [...KEY].map((c, i) => ({ raw: c, upper: `%${hex(c).toUpperCase()}`, lower: `%${hex(c)}`, double: `%25${hex(c)}`, triple: `%2525${hex(c)}` })[ways[i]!]).join(""));
      const delimiter = fc.constantFrom("/", "?", "&", "=", " ", '"', "#", "+", "");
      fc.assert(
        fc.property(fc.string({ maxLength: 12 }), delimiter, spelled, delimiter, fc.string({ maxLength: 12 }), (before, open, key, close, after) => {
          const log = capture();
          log.logger.info({ path: `${before}${open}${key}${close}${after}` }, `${before}${open}${key}${close}${after}`);
          const text = log.text();
          expect(() => JSON.parse(text)).not.toThrow();
          const decoded = percentDecoded(text);
          expect(decoded).not.toBeNull();
          expect(decoded).not.toContain(body.slice(-16));
          expect(text).not.toContain(body.slice(-16));
        }),
        { numRuns: 300 },
      );
    });
  });

  it("keeps every line valid JSON, whatever the strings around the secrets", () => {
    const secretText = fc.constantFrom(KEY, `keyward_session=${SESSION_ID}`, `Bearer ${KEY}`, `?token=${KEY}&a=1`, SESSION_ID, `kw%5F${KEY.slice(3)}`);
    const noisy = fc.tuple(fc.string(), secretText, fc.string()).map(([before, secret, after]) => `${before}${secret}${after}`);
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 8 }), noisy, { maxKeys: 4 }), noisy, (fields, message) => {
        const log = capture();
        log.logger.info({ fields }, message);
        const text = log.text();
        expect(() => JSON.parse(text)).not.toThrow();
        expect(text).not.toContain(KEY.slice(3));
        expect(text).not.toContain(SESSION_ID);
      }),
      { numRuns: 200 },
    );
  });

  it("knows credential field names from harmless ones", () => {
    for (const name of ["password", "newPassword", "passwordHash", "clientSecret", "KEYWARD_SECRET", "KEYWARD_ENCRYPTION_KEY", "key", "apiKey", "api_key", "x-api-key", "token", "accessToken", "csrf_token", "sessionId", "session", "cookie", "Set-Cookie", "authorization"]) {
      expect(isSensitiveField(name), name).toBe(true);
    }
    for (const name of ["keyId", "keys", "keyName", "monkey", "tokens", "requestId", "start", "last4", "user-agent", "status"]) {
      expect(isSensitiveField(name), name).toBe(false);
    }
    expect(redactFields({ a: { b: { c: { password: "x", list: [{ secret: "y" }] } } } })).toEqual({ a: { b: { c: { password: "[REDACTED]", list: [{ secret: "[REDACTED]" }] } } } });
  });

  it("survives circular objects", () => {
    const loop: Record<string, unknown> = { name: "loop" };
    loop.self = loop;
    expect(redactFields(loop)).toEqual({ name: "loop", self: "[Circular]" });
  });
});

describe("logger setup", () => {
  const saved = { file: process.env.KEYWARD_LOG_FILE, level: process.env.LOG_LEVEL };
  afterEach(() => {
    // Assigning undefined would store the string "undefined".
    for (const [name, value] of [["KEYWARD_LOG_FILE", saved.file], ["LOG_LEVEL", saved.level]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("takes its level from LOG_LEVEL: info by default, silent allowed, nonsense ignored", () => {
    expect(logLevelFrom({})).toBe("info");
    expect(logLevelFrom({ LOG_LEVEL: "silent" })).toBe("silent");
    expect(logLevelFrom({ LOG_LEVEL: "DEBUG" })).toBe("debug");
    expect(logLevelFrom({ LOG_LEVEL: "verbose" })).toBe("info");
    const silent = capture("silent");
    silent.logger.error("nothing");
    expect(silent.text()).toBe("");
    const info = capture("info");
    info.logger.debug("hidden");
    info.logger.info("shown");
    expect(info.lines().map((line) => line.msg)).toEqual(["shown"]);
    expect(info.lines()[0]).toMatchObject({ level: "info", pid: process.pid, time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });

  it("appends to KEYWARD_LOG_FILE, so several loggers (or processes) share one file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-logger-"));
    const file = path.join(dir, "logs", "app.ndjson");
    process.env.KEYWARD_LOG_FILE = file;
    const first = createLogger({ level: "info" });
    const second = createLogger({ level: "info" });
    first.info("one");
    second.info(`two ${KEY}`);
    first.info("three");
    const lines = fs.readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { msg: string });
    expect(lines.map((line) => line.msg)).toEqual(["one", "two [REDACTED_KEY]", "three"]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("routes console output through the logger, redacted, until restored", () => {
    const log = capture();
    const original = console.warn;
    const restore = routeConsoleTo(log.logger);
    expect(console.warn).not.toBe(original);
    try {
      console.warn(`No routes matched location "/${KEY}"`);
      console.error(new Error(`boom ${KEY}`));
    } finally {
      restore();
    }
    expect(console.warn).toBe(original);
    const lines = log.lines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: "warn", source: "console", msg: 'No routes matched location "/[REDACTED_KEY]"' });
    expect(lines[1]).toMatchObject({ level: "error", source: "console", err: { message: "boom [REDACTED_KEY]" } });
    expect(log.text()).not.toContain(KEY);
  });
});
