import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checksumOf, generateKey, isWellFormedKey as serverAccepts, keyFormatProblem as serverProblem, prefixOfKey as serverPrefix } from "../../app/lib/key-format";
import { PROBLEM_STATUS } from "../../app/lib/http.server";
import { SERVER_ERROR_CODES } from "../../sdk/src/errors";
import { isWellFormedKey as sdkAccepts, keyFormatProblem as sdkProblem, prefixOfKey as sdkPrefix } from "../../sdk/src/key-format";

/** The SDK knows every error code the server can send, with its status (the README's table is built on it). */
describe("SDK and server agree on the error codes", () => {
  it("lists each of the server's codes with the same HTTP status", () => {
    expect(SERVER_ERROR_CODES).toEqual(PROBLEM_STATUS);
  });
});

/** The SDK reimplements the key format (it ships no app code); both must judge every key alike. */
describe("SDK and server agree on the key format", () => {
  // Root keys, and issued keys of prefixes of every length and shape an API may have.
  const prefixes = fc.constantFrom("kw", "ab", "acme", "acme_live", "a1_b2_c3", "x_0_y", "abcdefghijkl");

  it("on generated keys of every prefix and on every single-character change of them", () => {
    fc.assert(
      fc.property(prefixes, fc.integer({ min: 0, max: 63 }), fc.constantFrom(..."0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"), (prefix, position, replacement) => {
        const key = generateKey(prefix);
        expect(sdkAccepts(key)).toBe(true);
        expect(sdkPrefix(key)).toBe(serverPrefix(key));
        const changed = key.slice(0, position) + replacement + key.slice(position + 1);
        expect(sdkProblem(changed)).toBe(serverProblem(changed));
      }),
      { numRuns: 500 },
    );
  });

  it("on checksummed 64-character keys with arbitrary would-be prefixes", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-zA-Z0-9_]{0,16}$/), (prefix) => {
        const body = `${prefix}_`.padEnd(58, "Q");
        const key = body + checksumOf(body);
        expect(sdkProblem(key)).toBe(serverProblem(key));
      }),
      { numRuns: 500 },
    );
  });

  it("on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        expect(sdkAccepts(text)).toBe(serverAccepts(text));
        expect(sdkAccepts(`kw_${text}`)).toBe(serverAccepts(`kw_${text}`));
        expect(sdkProblem(`acme_${text}`)).toBe(serverProblem(`acme_${text}`));
      }),
      { numRuns: 500 },
    );
  });
});
