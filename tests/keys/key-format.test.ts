import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expectEvery } from "../support/expect";
import {
  BASE62,
  checksumOf,
  crc32,
  displayParts,
  generateKey,
  isWellFormedKey,
  KEY_CHECKSUM_LENGTH,
  KEY_LENGTH,
  KEY_PATTERN,
  KEY_PREFIX,
  KEY_RANDOM_LENGTH,
  keyFormatProblem,
  randomBase62,
} from "../../app/lib/key-format";

const RANDOM_START = KEY_PREFIX.length;
const RANDOM_END = RANDOM_START + KEY_RANDOM_LENGTH;

/**
 * Critical value of chi-square with 61 degrees of freedom at p = 1e-6 (computed from the
 * regularized gamma function; p = 1e-3 would be 100.89). Strict enough that the modulo bias of
 * `byte % 62` scores in the hundreds per position, loose enough that a correct generator
 * essentially never fails a run.
 */
const CHI_SQUARE_61_P_1E6 = 128.52;

/** Pearson's chi-square of observed counts against a uniform distribution. */
function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((sum, n) => sum + n, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
}

function countChars(texts: readonly string[], from: number, to: number): number[] {
  const counts = new Array<number>(62).fill(0);
  const index = new Map([...BASE62].map((char, i) => [char.charCodeAt(0), i]));
  for (const text of texts) {
    for (let i = from; i < to; i++) counts[index.get(text.charCodeAt(i))!]!++;
  }
  return counts;
}

/** Standard score of how often '0'..'7' (the characters a plain modulo favours) appear at one position. */
function lowCharZScore(counts: readonly number[]): number {
  const total = counts.reduce((sum, n) => sum + n, 0);
  const low = counts.slice(0, 8).reduce((sum, n) => sum + n, 0);
  const p = 8 / 62;
  return (low - total * p) / Math.sqrt(total * p * (1 - p));
}

// Generated once for the uniqueness and distribution tests (≈ 0.5 s).
const KEY_COUNT = 100_000;
const keys: string[] = Array.from({ length: KEY_COUNT }, () => generateKey());

describe("key format", () => {
  it("is kw_ + 55 base62 characters + 6 base62 characters of CRC32 over the first 58, 64 in all", () => {
    expect(KEY_LENGTH).toBe(64);
    expect(BASE62).toBe("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    for (const key of keys.slice(0, 1000)) {
      expect(key).toMatch(/^kw_[0-9A-Za-z]{61}$/);
      expect(key).toHaveLength(64);
      const body = key.slice(0, RANDOM_END);
      expect(key.slice(RANDOM_END)).toBe(checksumOf(body));
      expect(keyFormatProblem(key)).toBeNull();
      expect(isWellFormedKey(key)).toBe(true);
      expect(KEY_PATTERN.test(`Authorization: Bearer ${key}`)).toBe(true);
    }
  });

  it("computes the standard CRC-32 (IEEE) and writes it as 6 base62 digits, most significant first", () => {
    expect(crc32("")).toBe(0);
    expect(crc32("123456789")).toBe(0xcbf43926);
    expect(crc32("The quick brown fox jumps over the lazy dog")).toBe(0x414fa339);
    // 0xcbf43926 = 3421780262 = 3·62^5 + 45·62^4 + 35·62^3 + 27·62^2 + 22·62 + 14
    expect(3 * 62 ** 5 + 45 * 62 ** 4 + 35 * 62 ** 3 + 27 * 62 ** 2 + 22 * 62 + 14).toBe(0xcbf43926);
    expect(checksumOf("123456789")).toBe("3jZRME");
    expect(checksumOf("")).toBe("000000");
    expect(KEY_CHECKSUM_LENGTH).toBe(6);
    // The largest CRC still fits 6 base62 digits, so no two checksums share a spelling.
    expect(62 ** 6).toBeGreaterThan(0xffffffff);
  });

  it("names what is wrong with a malformed key", () => {
    const key = keys[0]!;
    // Another well-shaped prefix is another API's key: the checksum, which covers the prefix, tells.
    expect(keyFormatProblem(`kx_${key.slice(3)}`)).toBe("checksum");
    expect(keyFormatProblem(`1w_${key.slice(3)}`)).toBe("prefix");
    expect(keyFormatProblem(key.slice(3))).toBe("prefix");
    expect(keyFormatProblem(`KW_${key.slice(3)}`)).toBe("prefix");
    expect(keyFormatProblem(key.slice(0, -1))).toBe("length");
    expect(keyFormatProblem(`${key}0`)).toBe("length");
    expect(keyFormatProblem("")).toBe("prefix");
    expect(keyFormatProblem(`${key.slice(0, 10)}-${key.slice(11)}`)).toBe("alphabet");
    expect(keyFormatProblem(`${key.slice(0, 10)}é${key.slice(11)}`)).toBe("alphabet");
    expect(keyFormatProblem(`${key.slice(0, 63)} `)).toBe("alphabet");
    const flipped = key.slice(-1) === "0" ? "1" : "0";
    expect(keyFormatProblem(key.slice(0, -1) + flipped)).toBe("checksum");
  });

  it("catches every single-character change: every position × every other base62 character, prefix included", () => {
    let variants = 0;
    for (const key of keys.slice(0, 25)) {
      for (let position = 0; position < KEY_LENGTH; position++) {
        for (const char of BASE62) {
          if (char === key[position]) continue;
          const changed = key.slice(0, position) + char + key.slice(position + 1);
          const problem = keyFormatProblem(changed);
          if (position < RANDOM_START) expect(problem, `${position}:${char}`).not.toBeNull();
          else expect(problem, `${position}:${char}`).toBe("checksum");
          variants++;
        }
      }
      // The prefix's own characters changed to anything printable other than themselves.
      for (let position = 0; position < RANDOM_START; position++) {
        for (let code = 0x21; code < 0x7f; code++) {
          const char = String.fromCharCode(code);
          if (char === key[position]) continue;
          expect(isWellFormedKey(key.slice(0, position) + char + key.slice(position + 1))).toBe(false);
          variants++;
        }
      }
    }
    expect(variants).toBeGreaterThan(25 * 64 * 60);
  });

  it("shows only the start (kw_ + 4) and the last 4 characters", () => {
    const key = keys[1]!;
    expect(displayParts(key)).toEqual({ start: key.slice(0, 7), last4: key.slice(60) });
    expect(displayParts(key).start).toMatch(/^kw_[0-9A-Za-z]{4}$/);
  });
});

describe("key randomness", () => {
  it(`never repeats a key in ${KEY_COUNT.toLocaleString("en")} generated ones`, () => {
    expect(new Set(keys).size).toBe(KEY_COUNT);
    // Nor the random part alone (the checksum adds no entropy).
    expect(new Set(keys.map((key) => key.slice(RANDOM_START, RANDOM_END))).size).toBe(KEY_COUNT);
  });

  it("uses every base62 character equally often over the random part (chi-square, 61 degrees of freedom)", () => {
    const counts = countChars(keys, RANDOM_START, RANDOM_END);
    expectEvery(counts, (n) => n > 0);
    expect(chiSquare(counts)).toBeLessThan(CHI_SQUARE_61_P_1E6);
  });

  it("shows no modulo bias at the first positions: '0'..'7' are not favoured", () => {
    for (let position = RANDOM_START; position < RANDOM_START + 4; position++) {
      const counts = countChars(keys, position, position + 1);
      expect(chiSquare(counts), `position ${position}`).toBeLessThan(CHI_SQUARE_61_P_1E6);
      expect(Math.abs(lowCharZScore(counts)), `position ${position}`).toBeLessThan(5);
    }
  });

  it("the same statistics do catch a plain-modulo generator (so the tests above can fail)", () => {
    const biased = Array.from(randomBytes(KEY_COUNT), (byte) => BASE62[byte % 62]!);
    const counts = countChars(biased, 0, 1);
    expect(chiSquare(counts)).toBeGreaterThan(CHI_SQUARE_61_P_1E6);
    expect(lowCharZScore(counts)).toBeGreaterThan(5);
  });

  it("rejects bytes 248..255 instead of folding them onto '0'..'7'", () => {
    const sequence = [248, 249, 255, 0, 61, 62, 247, 250, 123];
    let calls = 0;
    const source = (n: number) => {
      calls++;
      return Uint8Array.from({ length: n }, (_, i) => sequence[i % sequence.length]!);
    };
    // 0 → '0', 61 → 'z', 62 → '0', 247 → 247 % 62 = 61 → 'z', 123 → 123 % 62 = 61 → 'z'
    expect(randomBase62(5, source)).toBe("0z0zz");
    expect(randomBase62(0, source)).toBe("");
    // A source that keeps returning rejected bytes for a while is asked again until the text is full.
    let round = 0;
    const mostlyRejected = (n: number) => Uint8Array.from({ length: n }, (_, i) => (round++ < 3 || i % 2 ? 255 : 10));
    expect(randomBase62(8, mostlyRejected)).toBe("AAAAAAAA");
    expect(calls).toBeGreaterThan(0);
  });
});
