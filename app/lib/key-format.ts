/**
 * Keyward key format, pure and I/O-free so it can run before any lookup:
 * `<prefix>_` + base62 random characters + 6 base62 characters of CRC-32 over everything before
 * them, 64 characters in total whatever the prefix. Root keys (Keyward's own management
 * credentials) use the prefix `kw`; keys issued for an API use that API's prefix, 2–12 characters
 * (`[a-z][a-z0-9]*`, optionally in `_` segments). The random part is at least 64 − 13 − 6 = 45
 * characters (≥ 267 bits).
 */
export const ROOT_KEY_PREFIX = "kw";
/** How every root key begins. */
export const KEY_PREFIX = `${ROOT_KEY_PREFIX}_`;
export const KEY_LENGTH = 64;
export const KEY_CHECKSUM_LENGTH = 6;
export const KEY_RANDOM_LENGTH = KEY_LENGTH - KEY_PREFIX.length - KEY_CHECKSUM_LENGTH;
export const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export const MIN_PREFIX_LENGTH = 2;
export const MAX_PREFIX_LENGTH = 12;
/** An API's key prefix: lower-case letters and digits, starting with a letter, in `_`-separated segments. */
export const PREFIX_SHAPE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/** The random characters a key with this prefix carries. */
export const randomLengthFor = (prefix: string) => KEY_LENGTH - prefix.length - 1 - KEY_CHECKSUM_LENGTH;

/** Why a prefix cannot be an API's, or null. `kw` is Keyward's own (root keys). */
export function prefixProblem(prefix: string): string | null {
  if (prefix.length < MIN_PREFIX_LENGTH || prefix.length > MAX_PREFIX_LENGTH) return `A prefix has ${MIN_PREFIX_LENGTH}–${MAX_PREFIX_LENGTH} characters`;
  if (!PREFIX_SHAPE.test(prefix)) return "A prefix is lower-case letters and digits, starting with a letter, optionally in _-separated segments (acme, acme_live)";
  if (prefix === ROOT_KEY_PREFIX) return `"${ROOT_KEY_PREFIX}" is reserved for Keyward's root keys`;
  return null;
}

/**
 * Matches anything shaped like a Keyward key (any prefix, 64 characters), e.g. to refuse it in a
 * URL. Unanchored, so a key glued to other text still matches; to name the key, use findKey.
 */
export const KEY_PATTERN = new RegExp(
  Array.from({ length: MAX_PREFIX_LENGTH - MIN_PREFIX_LENGTH + 1 }, (_, i) => {
    const prefixLength = MIN_PREFIX_LENGTH + i;
    return `[a-z][a-z0-9_]{${prefixLength - 1}}_[0-9A-Za-z]{${KEY_LENGTH - prefixLength - 1}}`;
  }).join("|"),
);

/** The first well-formed key (checksum included) anywhere in `text`, or null. */
export function findKey(text: string): string | null {
  for (let start = 0; start + KEY_LENGTH <= text.length; start++) {
    const candidate = text.slice(start, start + KEY_LENGTH);
    if (isWellFormedKey(candidate)) return candidate;
  }
  return null;
}

const KEY_EXACT = /^([a-z][a-z0-9]*(?:_[a-z0-9]+)*)_([0-9A-Za-z]+)$/;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE) of an ASCII string. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function toBase62(value: number, width: number): string {
  let out = "";
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

export function checksumOf(body: string): string {
  return toBase62(crc32(body), KEY_CHECKSUM_LENGTH);
}

/**
 * `length` base62 characters from a CSPRNG. Bytes ≥ 248 are rejected so each
 * character is uniform (248 = 4 × 62; a plain modulo would favour the first 8).
 */
export function randomBase62(length: number, randomBytes: (n: number) => Uint8Array = webRandomBytes): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(Math.ceil((length - out.length) * 1.1) + 4)) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

function webRandomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** A new key: a root key by default, or a key of the API whose prefix is given. */
export function generateKey(prefix: string = ROOT_KEY_PREFIX): string {
  const body = `${prefix}_${randomBase62(randomLengthFor(prefix))}`;
  return body + checksumOf(body);
}

export type KeyFormatProblem = "prefix" | "length" | "alphabet" | "checksum";

/** Checks length, shape (prefix, separator, alphabet) and checksum; returns what is wrong, or null. No I/O. */
export function keyFormatProblem(candidate: string): KeyFormatProblem | null {
  if (!/^[a-z]/.test(candidate) || !candidate.includes("_")) return "prefix";
  if (candidate.length !== KEY_LENGTH) return "length";
  const match = KEY_EXACT.exec(candidate);
  if (!match) return "alphabet";
  const prefix = match[1]!;
  if (prefix !== ROOT_KEY_PREFIX && prefixProblem(prefix) !== null) return "prefix";
  const body = candidate.slice(0, KEY_LENGTH - KEY_CHECKSUM_LENGTH);
  return checksumOf(body) === candidate.slice(-KEY_CHECKSUM_LENGTH) ? null : "checksum";
}

export function isWellFormedKey(candidate: string): boolean {
  return keyFormatProblem(candidate) === null;
}

/** The prefix of a well-formed key (`kw` for a root key); call after isWellFormedKey. */
export function prefixOfKey(key: string): string {
  return key.slice(0, key.lastIndexOf("_"));
}

export const isRootKeyFormat = (key: string) => key.startsWith(KEY_PREFIX);

/** What may be shown of a key after creation: its start (prefix, `_` and 4 characters) and last 4 characters. */
export function displayParts(key: string): { start: string; last4: string } {
  return { start: key.slice(0, key.lastIndexOf("_") + 5), last4: key.slice(-4) };
}
