/**
 * The Keyward key format, checked locally so a malformed key never costs a round trip:
 * `<prefix>_` + base62 random characters + 6 base62 characters of CRC-32 over everything before
 * them, 64 characters in total whatever the prefix. Root keys (Keyward's management credentials)
 * use the prefix `kw`; keys issued for one of your APIs use that API's prefix (2–12 characters,
 * `[a-z][a-z0-9]*`, optionally in `_` segments, e.g. `acme_live`).
 * The same rule as the server's, reimplemented: the SDK ships no app code.
 */
export const ROOT_KEY_PREFIX = "kw";
export const KEY_LENGTH = 64;
const CHECKSUM_LENGTH = 6;
const MIN_PREFIX_LENGTH = 2;
const MAX_PREFIX_LENGTH = 12;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
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

/** CRC-32 (IEEE 802.3) of an ASCII string. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The 6 base62 characters that end a key whose other characters are `body`. */
export function checksumOf(body: string): string {
  let out = "";
  let rest = crc32(body);
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

export type KeyFormatProblem = "prefix" | "length" | "alphabet" | "checksum";

/** What is wrong with a candidate key (prefix, length, alphabet or checksum), or null. No I/O. */
export function keyFormatProblem(candidate: string): KeyFormatProblem | null {
  if (!/^[a-z]/.test(candidate) || !candidate.includes("_")) return "prefix";
  if (candidate.length !== KEY_LENGTH) return "length";
  const match = KEY_EXACT.exec(candidate);
  if (!match) return "alphabet";
  const prefix = match[1]!;
  if (prefix.length < MIN_PREFIX_LENGTH || prefix.length > MAX_PREFIX_LENGTH) return "prefix";
  return checksumOf(candidate.slice(0, KEY_LENGTH - CHECKSUM_LENGTH)) === candidate.slice(-CHECKSUM_LENGTH) ? null : "checksum";
}

/** True when `candidate` is a Keyward key of any prefix: shape, length, alphabet and a matching checksum. No I/O. */
export function isWellFormedKey(candidate: string): boolean {
  return keyFormatProblem(candidate) === null;
}

/** The prefix of a well-formed key: `kw` for a root key, else its API's prefix. */
export function prefixOfKey(key: string): string {
  return key.slice(0, key.lastIndexOf("_"));
}

/** True for a well-formed root key (`kw_…`), the only kind that authenticates to Keyward. */
export function isRootKey(candidate: string): boolean {
  return isWellFormedKey(candidate) && prefixOfKey(candidate) === ROOT_KEY_PREFIX;
}

/**
 * Why `apiKey` cannot authenticate the SDK to Keyward, or null: it must be a root key. An issued
 * key is a real key of the wrong kind, so it gets its own message.
 */
export function rootKeyProblem(apiKey: string): string | null {
  const problem = keyFormatProblem(apiKey);
  if (problem !== null) return `apiKey is not a Keyward key (its ${problem} is wrong): expected kw_ and letters and digits, 64 characters with a valid checksum`;
  if (prefixOfKey(apiKey) !== ROOT_KEY_PREFIX) return "this is a key issued for one of your APIs; the SDK client needs a root key (kw_…)";
  return null;
}
