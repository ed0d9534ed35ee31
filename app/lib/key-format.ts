/**
 * Keyward key format, pure and I/O-free so it can run before any lookup:
 * `kw_` + 55 base62 random characters + 6 base62 characters of CRC32 over the preceding 58 = 64 characters.
 */
export const KEY_PREFIX = "kw_";
export const KEY_RANDOM_LENGTH = 55;
export const KEY_CHECKSUM_LENGTH = 6;
export const KEY_LENGTH = KEY_PREFIX.length + KEY_RANDOM_LENGTH + KEY_CHECKSUM_LENGTH;
export const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Matches anything shaped like a Keyward key, e.g. to redact it from logs or refuse it in a URL. */
export const KEY_PATTERN = /kw_[0-9A-Za-z]{61}/;
const KEY_EXACT = /^kw_[0-9A-Za-z]{61}$/;

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

export function generateKey(): string {
  const body = KEY_PREFIX + randomBase62(KEY_RANDOM_LENGTH);
  return body + checksumOf(body);
}

export type KeyFormatProblem = "prefix" | "length" | "alphabet" | "checksum";

/** Checks prefix, length, alphabet and checksum; returns what is wrong, or null. No I/O. */
export function keyFormatProblem(candidate: string): KeyFormatProblem | null {
  if (!candidate.startsWith(KEY_PREFIX)) return "prefix";
  if (candidate.length !== KEY_LENGTH) return "length";
  if (!KEY_EXACT.test(candidate)) return "alphabet";
  const body = candidate.slice(0, KEY_LENGTH - KEY_CHECKSUM_LENGTH);
  return checksumOf(body) === candidate.slice(-KEY_CHECKSUM_LENGTH) ? null : "checksum";
}

export function isWellFormedKey(candidate: string): boolean {
  return keyFormatProblem(candidate) === null;
}

/** What may be shown of a key after creation: its start (`kw_` + 4) and last 4 characters. */
export function displayParts(key: string): { start: string; last4: string } {
  return { start: key.slice(0, KEY_PREFIX.length + 4), last4: key.slice(-4) };
}
