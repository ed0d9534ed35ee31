import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRetryAfter } from "../src/errors";
import { crc32, isRootKey, isWellFormedKey, keyFormatProblem, prefixOfKey, rootKeyProblem } from "../src/key-format";
import { sha256Hex } from "../src/sha256";
import { wellFormedKey } from "./support";

describe("key format", () => {
  it("computes the IEEE CRC-32 (check value of '123456789' is cbf43926)", () => {
    expect(crc32("123456789").toString(16)).toBe("cbf43926");
    expect(crc32("")).toBe(0);
  });

  it("accepts well-formed keys and refuses any single-character change", () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 63 }), fc.constantFrom(..."0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"), (position, replacement) => {
        const key = wellFormedKey();
        expect(isWellFormedKey(key)).toBe(true);
        const changed = key.slice(0, position) + replacement + key.slice(position + 1);
        // CRC-32 catches every single-character substitution.
        expect(isWellFormedKey(changed)).toBe(changed === key);
      }),
      { numRuns: 300 },
    );
  });

  it("accepts keys of every API prefix, 64 characters each, and refuses any single-character change of them", () => {
    const prefixes = fc.constantFrom("ab", "acme", "acme_live", "a1_b2_c3", "abcdefghijkl", "x_0");
    fc.assert(
      fc.property(prefixes, fc.integer({ min: 0, max: 63 }), fc.constantFrom(..."0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"), (prefix, position, replacement) => {
        const key = wellFormedKey(prefix);
        expect(key).toHaveLength(64);
        expect(keyFormatProblem(key)).toBeNull();
        expect(prefixOfKey(key)).toBe(prefix);
        const changed = key.slice(0, position) + replacement + key.slice(position + 1);
        expect(isWellFormedKey(changed)).toBe(changed === key);
      }),
      { numRuns: 500 },
    );
  });

  it("says what is wrong with a key", () => {
    const key = wellFormedKey("acme");
    expect(keyFormatProblem("Acme" + key.slice(4))).toBe("prefix");
    expect(keyFormatProblem("nounderscore")).toBe("prefix");
    expect(keyFormatProblem(wellFormedKey("a"))).toBe("prefix");
    expect(keyFormatProblem(wellFormedKey("abcdefghijklm"))).toBe("prefix");
    expect(keyFormatProblem(key.slice(0, -1))).toBe("length");
    expect(keyFormatProblem(key.slice(0, 10) + "-" + key.slice(11))).toBe("alphabet");
    expect(keyFormatProblem(key.slice(0, -1) + (key.endsWith("0") ? "1" : "0"))).toBe("checksum");
  });

  it("tells root keys from issued ones, and says why a key cannot authenticate the SDK", () => {
    const root = wellFormedKey();
    const issued = wellFormedKey("acme_live");
    expect([isRootKey(root), isRootKey(issued), isRootKey(root.slice(1))]).toEqual([true, false, false]);
    expect(rootKeyProblem(root)).toBeNull();
    expect(rootKeyProblem(issued)).toBe("this is a key issued for one of your APIs; the SDK client needs a root key (kw_…)");
    expect(rootKeyProblem(root.slice(0, -1))).toMatch(/not a Keyward key \(its length is wrong\)/);
  });

  it("refuses wrong prefix, length and alphabet", () => {
    const key = wellFormedKey();
    expect(isWellFormedKey("KW_" + key.slice(3))).toBe(false);
    expect(isWellFormedKey(key + "a")).toBe(false);
    expect(isWellFormedKey(key.slice(0, -1))).toBe(false);
    expect(isWellFormedKey(key.slice(0, 20) + "_" + key.slice(21))).toBe(false);
    expect(isWellFormedKey(` ${key.slice(1)}`)).toBe(false);
    expect(isWellFormedKey("")).toBe(false);
  });
});

describe("sha256Hex", () => {
  it("matches the FIPS 180-4 test vectors", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  });

  it("matches node:crypto for any string, across block boundaries and non-ASCII text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 300 }), (text) => {
        expect(sha256Hex(text)).toBe(createHash("sha256").update(text, "utf8").digest("hex"));
      }),
      { numRuns: 500 },
    );
    for (let length = 50; length <= 140; length++) {
      const text = "k".repeat(length);
      expect(sha256Hex(text)).toBe(createHash("sha256").update(text).digest("hex"));
    }
  });
});

describe("parseRetryAfter", () => {
  it("reads delta-seconds and HTTP dates, and nothing else", () => {
    const now = Date.parse("2026-11-25T12:00:00Z");
    expect(parseRetryAfter("30", now)).toBe(30);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter("Wed, 25 Nov 2026 12:01:30 GMT", now)).toBe(90);
    expect(parseRetryAfter("Wed, 25 Nov 2026 11:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter("-5", now)).toBeNull();
  });
});
