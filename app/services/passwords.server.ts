import { hash, verify } from "@node-rs/argon2";

/** `Algorithm.Argon2id` of @node-rs/argon2 (an ambient const enum, so spelled out here). */
const ARGON2ID = 2;

/** argon2id parameters (OWASP's minimum: 19 MiB, 2 iterations). */
export interface PasswordHashing {
  memoryCost: number;
  timeCost: number;
}

export const DEFAULT_HASHING: PasswordHashing = { memoryCost: 19456, timeCost: 2 };

export const MIN_PASSWORD_LENGTH = 10;
/** Longer than any passphrase a person or a password manager uses; nothing longer is ever hashed. */
export const MAX_PASSWORD_LENGTH = 1024;

export function hashPassword(password: string, params: PasswordHashing = DEFAULT_HASHING): Promise<string> {
  return hash(password, { algorithm: ARGON2ID, memoryCost: params.memoryCost, timeCost: params.timeCost, parallelism: 1, outputLen: 32 });
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}
