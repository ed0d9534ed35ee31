import crypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateKey } from "../../app/lib/key-format";
import { candidateDigests, decryptKey, digestKey, encryptKey } from "../../app/services/secrets.server";

const secret = (byte: number) => Buffer.alloc(32, byte);

describe("key digests", () => {
  it("are HMAC-SHA-256 of the key under the secret, in hex", () => {
    const key = generateKey();
    const expected = crypto.createHmac("sha256", secret(1)).update(key).digest("hex");
    expect(digestKey(key, secret(1))).toBe(expected);
    expect(digestKey(key, secret(1))).toMatch(/^[0-9a-f]{64}$/);
    expect(digestKey(key, secret(1))).not.toContain(key.slice(3, 20));
  });

  it("differ across secret versions and across keys", () => {
    const key = generateKey();
    const digests = [1, 2, 3].map((byte) => digestKey(key, secret(byte)));
    expect(new Set(digests).size).toBe(3);
    expect(digestKey(generateKey(), secret(1))).not.toBe(digests[0]);
  });

  it("list the current secret first, then every previous one in the order configured", () => {
    const key = generateKey();
    const candidates = candidateDigests(key, {
      current: { version: 3, secret: secret(3) },
      previous: [
        { version: 2, secret: secret(2) },
        { version: 1, secret: secret(1) },
      ],
    });
    expect(candidates).toEqual([
      { version: 3, digest: digestKey(key, secret(3)) },
      { version: 2, digest: digestKey(key, secret(2)) },
      { version: 1, digest: digestKey(key, secret(1)) },
    ]);
    expect(candidateDigests(key, { current: { version: 1, secret: secret(1) }, previous: [] })).toEqual([
      { version: 1, digest: digestKey(key, secret(1)) },
    ]);
  });
});

describe("recoverable key encryption", () => {
  const encryptionKey = crypto.randomBytes(32);

  it("round-trips, with a fresh IV each time and no plaintext in the ciphertext", () => {
    const key = generateKey();
    const first = encryptKey(key, "key_aaaaaaaaaaaaaaaaaaaa", encryptionKey);
    const second = encryptKey(key, "key_aaaaaaaaaaaaaaaaaaaa", encryptionKey);
    expect(first).toMatch(/^v1:[A-Za-z0-9+/]+=*$/);
    expect(first).not.toBe(second);
    expect(first).not.toContain(key);
    expect(Buffer.from(first.slice(3), "base64").toString("latin1")).not.toContain(key.slice(3, 20));
    expect(decryptKey(first, "key_aaaaaaaaaaaaaaaaaaaa", encryptionKey)).toBe(key);
    expect(decryptKey(second, "key_aaaaaaaaaaaaaaaaaaaa", encryptionKey)).toBe(key);
  });

  it("is bound to the key id: a ciphertext moved to another key's row does not decrypt", () => {
    const ciphertext = encryptKey(generateKey(), "key_aaaaaaaaaaaaaaaaaaaa", encryptionKey);
    expect(() => decryptKey(ciphertext, "key_bbbbbbbbbbbbbbbbbbbb", encryptionKey)).toThrow();
  });

  it("fails on a wrong encryption key, a tampered body or an unknown format", () => {
    const ciphertext = encryptKey(generateKey(), "key_aaaaaaaaaaaaaaaaaaaa", encryptionKey);
    expect(() => decryptKey(ciphertext, "key_aaaaaaaaaaaaaaaaaaaa", crypto.randomBytes(32))).toThrow();
    const raw = Buffer.from(ciphertext.slice(3), "base64");
    raw[raw.length - 1]! ^= 1;
    expect(() => decryptKey(`v1:${raw.toString("base64")}`, "key_aaaaaaaaaaaaaaaaaaaa", encryptionKey)).toThrow();
    expect(() => decryptKey(`v2:${ciphertext.slice(3)}`, "key_aaaaaaaaaaaaaaaaaaaa", encryptionKey)).toThrow(/Unknown ciphertext format/);
    expect(() => decryptKey("garbage", "key_aaaaaaaaaaaaaaaaaaaa", encryptionKey)).toThrow(/Unknown ciphertext format/);
  });
});
