import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller } from "../../app/trpc/root.server";
import { createUser, testKeyward, type TestKeyward } from "../support/keyward";

let kw: TestKeyward;

beforeAll(async () => {
  kw = await testKeyward();
});

afterAll(async () => {
  await kw?.dispose();
});

/** Inputs the REST fuzzer found to crash the database write: through tRPC they must be refused as input errors too. */
describe("tRPC refuses metadata the database could not store", () => {
  it("answers deep nesting and unpaired surrogates with BAD_REQUEST, never an internal error, and stores nothing", async () => {
    const user = await createUser(kw, "member");
    const caller = createCaller({ keyward: kw, request: new Request("http://keyward.test/api/trpc"), actor: user.actor, viaCookie: false, authFailure: null });
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 20_000; i++) deep = { a: deep };
    for (const metadata of [deep, { note: "\ud800" }, { ["\udc00"]: 1 }]) {
      const error = await caller.keys.create({ name: "bad metadata", scopes: ["read"], metadata }).then(
        () => null,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(TRPCError);
      expect((error as TRPCError).code).toBe("BAD_REQUEST");
    }
    expect((await caller.keys.list({})).data).toHaveLength(0);
  });
});
