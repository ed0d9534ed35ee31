import fs from "node:fs";
import type { inferRouterError, inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import { describe, expect, expectTypeOf, it } from "vitest";
import { appRouter, type AppRouter as ServerRouter } from "../../app/trpc/root.server";
import { GENERATED_FILE, generateRouterTypes } from "../../sdk/scripts/generate-router-types";
import { PROCEDURES, type AppRouter as SdkRouter } from "../../sdk/src/generated/router";

/**
 * The SDK ships the router's client-facing types as generated plain types (sdk/src/generated/router.ts)
 * instead of `typeof appRouter`. These checks keep the two the same router.
 */
describe("the SDK's router types", () => {
  it("are what the generator makes of today's router (run `npm run sdk:generate` when this fails)", () => {
    expect(fs.readFileSync(GENERATED_FILE, "utf8")).toBe(generateRouterTypes());
  }, 120_000);

  it("accept and return what the server's router does, both ways (checked by tsc)", () => {
    // Mutual assignability: the printed types are structurally the server's, not the same type objects.
    expectTypeOf<inferRouterInputs<SdkRouter>>().toExtend<inferRouterInputs<ServerRouter>>();
    expectTypeOf<inferRouterInputs<ServerRouter>>().toExtend<inferRouterInputs<SdkRouter>>();
    expectTypeOf<inferRouterOutputs<SdkRouter>>().toExtend<inferRouterOutputs<ServerRouter>>();
    expectTypeOf<inferRouterOutputs<ServerRouter>>().toExtend<inferRouterOutputs<SdkRouter>>();
    expectTypeOf<inferRouterError<SdkRouter>>().toExtend<inferRouterError<ServerRouter>>();
    expectTypeOf<inferRouterError<ServerRouter>>().toExtend<inferRouterError<SdkRouter>>();
  });

  it("list every procedure of the running router with its kind", () => {
    const procedures = Object.fromEntries(Object.entries(appRouter._def.procedures).map(([path, procedure]) => [path, (procedure as { _def: { type: string } })._def.type]));
    expect(PROCEDURES).toEqual(procedures);
  });
});
