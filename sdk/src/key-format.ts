/**
 * The Keyward key format, checked locally so a malformed key never costs a round trip:
 * `kw_` + 55 base62 characters + 6 base62 characters of CRC-32 over the first 58 = 64 characters.
 * The same rule as the server's (app/lib/key-format.ts), reimplemented: the SDK ships no app code.
 */
export const KEY_PREFIX = "kw_";
export const KEY_LENGTH = 64;
const CHECKSUM_LENGTH = 6;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
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

/** CRC-32 (IEEE 802.3) of an ASCII string. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function checksumOf(body: string): string {
  let out = "";
  let rest = crc32(body);
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

/** True when `candidate` has Keyward's prefix, length, alphabet and a matching checksum. No I/O. */
export function isWellFormedKey(candidate: string): boolean {
  if (candidate.length !== KEY_LENGTH || !KEY_EXACT.test(candidate)) return false;
  return checksumOf(candidate.slice(0, KEY_LENGTH - CHECKSUM_LENGTH)) === candidate.slice(-CHECKSUM_LENGTH);
}
