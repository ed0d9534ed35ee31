import { format } from "node:util";
import pino, { type DestinationStream, type Level, type Logger } from "pino";

/**
 * Structured JSON logs (pino), one line per event, that never carry a credential. Three layers,
 * because no single one catches everything:
 * 1. fields named like a credential (headers, passwords, tokens, secrets, keys, session ids), in
 *    any case and at any depth, are replaced before serialisation;
 * 2. errors go through pino's serializer, then through the same field pass;
 * 3. every finished line is scanned once more for anything shaped like a Keyward key (as written,
 *    or percent-encoded any number of times), a session cookie or lucia session id, a Bearer value
 *    or a URL's query values — so a key inside a message, a URL or a stack is caught too.
 *
 * Level from KEYWARD_LOG_LEVEL (or its former name LOG_LEVEL; default info; `silent` turns logging off); lines go to stdout, or are
 * appended to the file named by KEYWARD_LOG_FILE. Writes are buffered and asynchronous: a line
 * written while the previous write is in flight joins the next one, so under load many request
 * lines cost one system call instead of one each (a synchronous write per request was a tenth of
 * the request path's CPU). Every write holds whole lines, so lines from several processes appending
 * to one file stay whole; what is buffered is written out on `process.exit` and on a fatal error
 * (pino flushes its destination on exit). A process killed outright (SIGKILL) may lose the lines of
 * its last moments; KEYWARD_LOG_SYNC=1 writes each line before going on (the test suite's setting).
 */

export const REDACTED = "[REDACTED]";

/**
 * Field names whose values are credentials, in any case: words that mark one wherever they appear
 * (`passwordHash`, `clientSecret`, `Set-Cookie`), and names that are one as a whole (`key`,
 * `x-api-key`, `KEYWARD_ENCRYPTION_KEY`, `apiKey`, `sessionId`) — so `keyId` or `keys` stay readable.
 */
const SENSITIVE_ANYWHERE = /password|passwd|passphrase|secret|authorization|cookie/i;
const SENSITIVE_WHOLE = /^(?:key|[\w-]*[_-]key|api_?key|token|[\w-]*[_-]token|plaintext|session|session_?id)$/i;
const SENSITIVE_CAMEL = /^[a-z][A-Za-z0-9]*(?:Key|Token|SessionId)$/;

/**
 * Anything that starts like a Keyward key: a root key's `kw_` (or its URL-encoded form) and 16+
 * base62 characters, or any other key prefix (an API's: `acme_live_…`) and 30+. Wider than
 * KEY_PATTERN in app/lib/key-format.ts on purpose: a mistyped, truncated or over-long key still
 * gives away most of a real one. Issued keys need the longer run so Keyward's own public ids
 * (`key_` + 20 characters) stay readable in logs.
 */
const KEY_LIKE = /kw(?:_|%5[Ff])[0-9A-Za-z]{16,}|[a-z][a-z0-9]{0,11}(?:_[a-z0-9]+)*(?:_|%5[Ff])[0-9A-Za-z]{30,}/g;
/** A key once every escape is decoded: `x%6Bw_…`, `%256B%77%5F…` and the like hold one. */
const DECODED_KEY = /kw_[0-9A-Za-z]{16,}|[a-z][a-z0-9]{0,11}(?:_[a-z0-9]+)*_[0-9A-Za-z]{30,}/;
/**
 * A run of text between the characters that end a URL part or a JSON string: where a key, encoded
 * or not, sits in a logged path, query or quoted URL. Delimiters are matched raw, so an encoded
 * one (`%2F`) stays inside its run and is decoded with it.
 */
const URL_PART = /[^\s"'\\<>/?&=#;,]+/g;
const ESCAPE = /%[0-9A-Fa-f]{2}/;
/** Runs of ASCII escapes only: a key is ASCII, and decoding them alone cannot fail on malformed UTF-8. */
const ASCII_ESCAPES = /(?:%[0-7][0-9A-Fa-f])+/g;
/** Deeper than any client encodes by mistake: a part still changing after this many passes is redacted whole. */
const MAX_DECODE_PASSES = 8;

/**
 * `text` with its ASCII percent-escapes decoded pass after pass (`%256B` → `%6B` → `k`) until it
 * stops changing; null when it still changes after MAX_DECODE_PASSES. Malformed escapes (`%zz`,
 * a lone `%`) are left as they are.
 */
export function percentDecoded(text: string): string | null {
  let current = text;
  for (let pass = 0; pass < MAX_DECODE_PASSES; pass++) {
    const next = current.replace(ASCII_ESCAPES, decodeURIComponent);
    if (next === current) return current;
    current = next;
  }
  return null;
}

/** A URL part that decodes to a key is replaced whole; one encoded past the bound is too, since it may hide one. */
function redactEncodedKey(part: string): string {
  if (!ESCAPE.test(part)) return part;
  const decoded = percentDecoded(part);
  if (decoded === null) return REDACTED;
  return DECODED_KEY.test(decoded) ? "[REDACTED_KEY]" : part;
}

/** `keyward_session=…`, `__Host-keyward_session=…`, or any other `*session=` cookie value. */
const SESSION_COOKIE = /((?:__Host-|__Secure-)?[\w-]*session=)(?!\[REDACTED\])[^;,\s"\\]+/gi;
/** Whatever follows `Bearer ` in a header that made it into text. */
const BEARER = /(bearer\s+)(?!\[REDACTED)[^\s"\\,;]+/gi;
/** Query values in a URL quoted by a message (a library's warning, an error): `?password=…`, `&token=…`. */
const QUERY_VALUE = /([?&][^=&?#\s"'<>\\]{1,64}=)(?!\[REDACTED)[^&#\s"'<>\\]+/g;
/**
 * A lucia session id: 25 random bytes as lowercase base32, 40 characters of a–z and 2–7, also
 * glued to other text. Matched from the start of a run only, which keeps the scan linear.
 */
const LUCIA_SESSION_ID = /(?<![a-z2-7])[a-z2-7]{40,}/g;

/**
 * The text with every credential-shaped substring replaced. Safe to run on JSON: values stop at a
 * quote or backslash, and replacements contain neither. Each pass runs only when its marker occurs.
 */
export function redactText(text: string): string {
  let out = text;
  // Encoded parts first: a part that decodes to a key goes whole, not just its plainly spelt tail.
  if (out.includes("%")) out = out.replace(URL_PART, redactEncodedKey);
  if (/_|%5f/i.test(out)) out = out.replace(KEY_LIKE, "[REDACTED_KEY]");
  if (/session=/i.test(out)) out = out.replace(SESSION_COOKIE, `$1${REDACTED}`);
  if (/bearer/i.test(out)) out = out.replace(BEARER, `$1${REDACTED}`);
  if (out.includes("=")) out = out.replace(QUERY_VALUE, `$1${REDACTED}`);
  return out.replace(LUCIA_SESSION_ID, REDACTED);
}

export function isSensitiveField(name: string): boolean {
  return SENSITIVE_ANYWHERE.test(name) || SENSITIVE_WHOLE.test(name) || SENSITIVE_CAMEL.test(name);
}

const MAX_DEPTH = 10;

/**
 * A copy of `value` with credential-named fields replaced. Plain objects and arrays are walked;
 * Errors become their serialised form first (type, message and stack with causes, own fields);
 * other class instances (Date, Buffer, …) are left to JSON.stringify. Strings are left to
 * redactText, which the logger runs over the finished line.
 */
export function redactFields(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) return "[Circular]";
  if (depth >= MAX_DEPTH) return "[Truncated]";
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactFields(item, depth + 1, seen));
  if (value instanceof Error) return redactEntries(pino.stdSerializers.err(value), depth, seen);
  const prototype = Object.getPrototypeOf(value) as unknown;
  // pino's serialised errors (nested in an error's own fields) have a prototype of their own.
  const errorLike = "message" in value && "stack" in value;
  if (prototype !== Object.prototype && prototype !== null && !errorLike) return value;
  return redactEntries(value, depth, seen);
}

function redactEntries(value: object, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(value)) {
    out[name] = isSensitiveField(name) && item !== undefined && item !== null && item !== "" ? REDACTED : redactFields(item, depth + 1, seen);
  }
  return out;
}

const LEVELS: readonly string[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export function logLevelFrom(env: Record<string, string | undefined> = process.env): Level | "silent" {
  const wanted = (env.KEYWARD_LOG_LEVEL ?? env.LOG_LEVEL)?.trim().toLowerCase();
  return wanted && LEVELS.includes(wanted) ? (wanted as Level | "silent") : "info";
}

export interface LoggerOptions {
  level?: Level | "silent";
  /** Where lines go; by default stdout, or the file named by KEYWARD_LOG_FILE. */
  destination?: DestinationStream;
}

function defaultDestination(env: Record<string, string | undefined> = process.env): DestinationStream {
  const file = env.KEYWARD_LOG_FILE?.trim();
  return pino.destination({ dest: file || 1, sync: env.KEYWARD_LOG_SYNC?.trim() === "1", append: true, mkdir: Boolean(file) });
}

/** A logger with Keyward's redaction; `logger` below is the one the app uses. */
export function createLogger({ level = logLevelFrom(), destination = defaultDestination() }: LoggerOptions = {}): Logger {
  const instance = pino(
    {
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      base: { pid: process.pid },
      serializers: { err: (error: unknown) => redactFields(error) },
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactFields(object) as Record<string, unknown>,
      },
      hooks: { streamWrite: redactText },
    },
    destination,
  );
  // Child bindings skip formatters.log; children inherit this method, so grandchildren are covered too.
  const child = instance.child;
  instance.child = function redactedChild(this: Logger, bindings, options) {
    return child.call(this, redactFields(bindings) as typeof bindings, options);
  } as Logger["child"];
  return instance;
}

export const logger: Logger = createLogger();

const CONSOLE_LEVELS = { debug: "debug", log: "info", info: "info", warn: "warn", error: "error" } as const;

/**
 * Sends console output (libraries' warnings, which may quote a URL with a key in it) through the
 * logger, redacted like everything else. For the server process; returns a function that restores
 * the console.
 */
export function routeConsoleTo(target: Logger = logger): () => void {
  const saved = Object.fromEntries(Object.keys(CONSOLE_LEVELS).map((method) => [method, console[method as keyof typeof CONSOLE_LEVELS]]));
  for (const [method, level] of Object.entries(CONSOLE_LEVELS)) {
    console[method as keyof typeof CONSOLE_LEVELS] = (...args: unknown[]) => {
      const error = args.find((arg): arg is Error => arg instanceof Error);
      target[level]({ source: "console", ...(error ? { err: error } : {}) }, format(...args));
    };
  }
  return () => Object.assign(console, saved);
}
