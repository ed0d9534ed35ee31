/** The error codes along an error's cause chain (drizzle wraps driver errors). */
function* codesOf(error: unknown): Generator<string> {
  for (let current = error, depth = 0; current && typeof current === "object" && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") yield code;
  }
}

/**
 * Whether an error means the database cannot answer right now (down, restarting, unreachable, or a
 * statement cancelled by its timeout), as opposed to a bug or bad data. Such a failure is the
 * client's cue to retry later (503), never a 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  // postgres.js's own connection codes, Node's socket errors, and SQLSTATE classes 08 (connection
  // exception) and 57 (operator intervention: shutdown, cancelled statement, cannot connect now).
  for (const code of codesOf(error)) {
    if (code === "57014") databaseFailures.statementTimeouts++;
    if (DRIVER_CODES.has(code) || /^(08|57)[0-9A-Z]{3}$/.test(code)) {
      databaseFailures.unavailable++;
      return true;
    }
  }
  return false;
}

/**
 * Requests answered 503 because the database could not answer, and among them statements cancelled
 * by their timeout (SQLSTATE 57014), counted as they are classified (read by the metrics endpoint).
 */
export const databaseFailures = { unavailable: 0, statementTimeouts: 0 };

/**
 * Whether the database refused text it cannot store: a NUL character (U+0000) in a text value
 * (22021) or in JSON (22P05). That is the client's input, a 400, wherever the schema let it through.
 */
export function isUnstorableText(error: unknown): boolean {
  for (const code of codesOf(error)) if (code === "22021" || code === "22P05") return true;
  return false;
}

export const UNSTORABLE_TEXT_MESSAGE = "Text may not contain NUL (U+0000) characters";

const DRIVER_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
]);

/** Whether the database refused a row for a unique constraint (SQLSTATE 23505), e.g. a taken prefix. */
export function isUniqueViolation(error: unknown): boolean {
  for (const code of codesOf(error)) if (code === "23505") return true;
  return false;
}
