import crypto from "node:crypto";
import type { Config } from "../config.server";

export type DigestSecrets = Config["digestSecrets"];

export interface KeyDigest {
  digest: string;
  version: number;
}

/** HMAC-SHA-256 of the plaintext key under a server secret; the only form of a key the database holds. */
export function digestKey(key: string, secret: Buffer): string {
  return crypto.createHmac("sha256", secret).update(key).digest("hex");
}

/** The digest under the current secret (for storing), then under each earlier one (for lookups after a secret rotation). */
export function candidateDigests(key: string, secrets: DigestSecrets): KeyDigest[] {
  return [secrets.current, ...secrets.previous].map(({ version, secret }) => ({ version, digest: digestKey(key, secret) }));
}

const CIPHER_VERSION = "v1";

/** AES-256-GCM, bound to the key's id as associated data so a ciphertext cannot be moved to another row. */
export function encryptKey(plaintext: string, keyId: string, encryptionKey: Buffer): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", encryptionKey, iv);
  cipher.setAAD(Buffer.from(keyId));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return `${CIPHER_VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
}

export function decryptKey(ciphertext: string, keyId: string, encryptionKey: Buffer): string {
  const [version, payload] = ciphertext.split(":");
  if (version !== CIPHER_VERSION || !payload) throw new Error("Unknown ciphertext format");
  const raw = Buffer.from(payload, "base64");
  const decipher = crypto.createDecipheriv("aes-256-gcm", encryptionKey, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(keyId));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
}
