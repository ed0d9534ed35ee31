/**
 * Whether an error means the database cannot answer right now (down, restarting, unreachable, or a
 * statement cancelled by its timeout), as opposed to a bug or bad data. Such a failure is the
 * client's cue to retry later (503), never a 500. drizzle wraps driver errors, so causes are followed.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && typeof current === "object" && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code !== "string") continue;
    // postgres.js's own connection codes, Node's socket errors, and SQLSTATE classes 08 (connection
    // exception) and 57 (operator intervention: shutdown, cancelled statement, cannot connect now).
    if (DRIVER_CODES.has(code) || /^(08|57)[0-9A-Z]{3}$/.test(code)) return true;
  }
  return false;
}

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
