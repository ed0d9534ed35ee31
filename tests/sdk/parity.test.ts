import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateKey, isWellFormedKey as serverAccepts } from "../../app/lib/key-format";
import { PROBLEM_STATUS } from "../../app/lib/http.server";
import { SERVER_ERROR_CODES } from "../../sdk/src/errors";
import { isWellFormedKey as sdkAccepts } from "../../sdk/src/key-format";

/** The SDK knows every error code the server can send, with its status (the README's table is built on it). */
describe("SDK and server agree on the error codes", () => {
  it("lists each of the server's codes with the same HTTP status", () => {
    expect(SERVER_ERROR_CODES).toEqual(PROBLEM_STATUS);
  });
});

/** The SDK reimplements the key format (it ships no app code); both must judge every key alike. */
describe("SDK and server agree on the key format", () => {
  it("on generated keys and on every single-character change of them", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 63 }), fc.constantFrom(..."0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"), (position, replacement) => {
        const key = generateKey();
        expect(sdkAccepts(key)).toBe(true);
        const changed = key.slice(0, position) + replacement + key.slice(position + 1);
        expect(sdkAccepts(changed)).toBe(serverAccepts(changed));
      }),
      { numRuns: 500 },
    );
  });

  it("on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        expect(sdkAccepts(text)).toBe(serverAccepts(text));
        expect(sdkAccepts(`kw_${text}`)).toBe(serverAccepts(`kw_${text}`));
      }),
      { numRuns: 500 },
    );
  });
});
