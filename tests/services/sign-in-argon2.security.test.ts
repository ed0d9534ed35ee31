import fs from "node:fs";
import type * as Argon2 from "@node-rs/argon2";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createKeyward, type Keyward } from "../../app/services/keyward.server";
import { DEFAULT_HASHING } from "../../app/services/passwords.server";
import type { DatabaseHandle } from "../../db/client.server";
import { users } from "../../db/schema";
import { freshDatabase } from "../support/database";
import { createUser, system, TEST_PASSWORD, testConfig, testKeyward, type TestKeyward } from "../support/keyward";

// The real argon2, counted: every hash and verification still runs, so the timings are the real ones.
vi.mock("@node-rs/argon2", async (importOriginal) => {
  const real = await importOriginal<typeof Argon2>();
  return { ...real, hash: vi.fn(real.hash), verify: vi.fn(real.verify) };
});
const argon2 = await import("@node-rs/argon2");
const hashCalls = vi.mocked(argon2.hash);
const verifyCalls = vi.mocked(argon2.verify);

/** The parameter part of an argon2 PHC string (`$argon2id$v=19$m=…,t=…,p=…$`), which decides its cost. */
const parametersOf = (phc: string) => /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$/.exec(phc)?.[0];

/** One sign-in's outcome and its argon2 work: the hashes it made, and the parameters of the hash each verification checked against. */
async function argon2WorkOf(signIn: () => Promise<unknown>): Promise<{ outcome: string; hashes: number; verifications: string[] }> {
  hashCalls.mockClear();
  verifyCalls.mockClear();
  const outcome = await signIn().then(
    () => "signed in",
    (error: unknown) => String((error as { code?: unknown }).code),
  );
  return { outcome, hashes: hashCalls.mock.calls.length, verifications: verifyCalls.mock.calls.map(([phc]) => parametersOf(String(phc)) ?? "not argon2id") };
}

describe("sign-in takes the same argon2 path whether or not the account exists", () => {
  let kw: TestKeyward;
  let member: { email: string };
  let disabled: { id: string; email: string };
  const TEST_PARAMETERS = "$argon2id$v=19$m=1024,t=1,p=1$";

  beforeAll(async () => {
    kw = await testKeyward();
    member = await createUser(kw);
    disabled = await createUser(kw);
    await kw.users.disable(system, disabled.id);
    // The first sign-in of a process also makes the dummy hash, once: the cases below compare steady state.
    await kw.auth.login("warm-up@example.test", TEST_PASSWORD).catch(() => undefined);
  });

  afterAll(async () => {
    await kw?.dispose();
  });

  it.each([
    ["a correct password", "signed in", () => kw.auth.login(member.email, TEST_PASSWORD)],
    ["a wrong password", "invalid_credentials", () => kw.auth.login(member.email, "not the password at all")],
    ["an unknown email", "invalid_credentials", () => kw.auth.login("nobody-here@example.test", TEST_PASSWORD)],
    ["a disabled account's correct password", "invalid_credentials", () => kw.auth.login(disabled.email, TEST_PASSWORD)],
  ])("%s costs exactly one argon2 verification, against a hash of the accounts' own parameters", async (_case, outcome, signIn) => {
    const work = await argon2WorkOf(signIn);
    expect(work).toEqual({ outcome, hashes: 0, verifications: [TEST_PARAMETERS] });
  });
});

describe("production password hashing", () => {
  const PRODUCTION_PARAMETERS = "$argon2id$v=19$m=19456,t=2,p=1$";
  let database: DatabaseHandle;
  let keyward: Keyward;

  beforeAll(async () => {
    database = await freshDatabase();
    // As the server starts it (app/server/main.ts): no hashing option, so the production parameters apply.
    keyward = await createKeyward({ config: testConfig({ REDIS_URL: process.env.REDIS_URL }), database });
  });

  afterAll(async () => {
    await keyward?.close();
    await database?.close();
  });

  beforeEach(() => {
    hashCalls.mockClear();
    verifyCalls.mockClear();
  });

  it("is argon2id with 19 MiB (19456 KiB), 2 iterations and 1 lane", () => {
    expect(DEFAULT_HASHING).toEqual({ memoryCost: 19456, timeCost: 2 });
  });

  it("is what SECURITY.md and the README promise", () => {
    const stated = (file: string, claim: RegExp) => {
      const match = claim.exec(fs.readFileSync(file, "utf8"));
      expect(match, `${file} no longer states the argon2 parameters as ${claim}`).not.toBeNull();
      return { memoryCost: Number(match![1]) * 1024, timeCost: Number(match![2]) };
    };
    expect(stated("SECURITY.md", /Passwords are argon2id, (\d+) MiB, (\d+) iterations, 1 lane in production/)).toEqual(DEFAULT_HASHING);
    expect(stated("README.md", /hashed with argon2id \((\d+) MiB, (\d+) iterations\)/)).toEqual(DEFAULT_HASHING);
  });

  it("stores every new password as argon2id m=19456, t=2, p=1", async () => {
    const user = await createUser(keyward);
    const [row] = await database.db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, user.id));
    expect(parametersOf(row!.passwordHash)).toBe(PRODUCTION_PARAMETERS);
    expect(hashCalls.mock.calls.map(([, options]) => options)).toEqual([expect.objectContaining({ algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 })]);
  });

  it("checks an unknown email against a dummy hash of the same production cost", async () => {
    const work = await argon2WorkOf(() => keyward.auth.login("nobody-here@example.test", TEST_PASSWORD));
    expect(work).toMatchObject({ outcome: "invalid_credentials", verifications: [PRODUCTION_PARAMETERS] });
  });
});
