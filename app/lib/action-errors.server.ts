import { logger } from "./logger.server";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { z, ZodError } from "zod";
import { isKeywardError } from "../services/errors.server";

/** What a dashboard action returns when a procedure refuses: a message a person can act on, and per-field errors. */
export interface ActionFailure {
  status: number;
  error: string;
  fieldErrors: Record<string, string[]>;
}

const GENERIC = "Something went wrong on our side. Try again in a moment.";

/**
 * Maps a failure from `caller.*` (a TRPCError whose cause may be a KeywardError or a ZodError) or
 * from a service (KeywardError) to an ActionFailure; anything else is a bug and is rethrown.
 * tRPC messages are user-safe by construction (app/trpc/trpc.server.ts); internal errors never leak.
 */
export function describeFailure(error: unknown): ActionFailure {
  if (error instanceof TRPCError) {
    if (error.code === "INTERNAL_SERVER_ERROR") {
      logger.error({ err: error.cause ?? error }, "dashboard action failed");
      return { status: 500, error: GENERIC, fieldErrors: {} };
    }
    const status = getHTTPStatusCodeFromError(error);
    if (error.cause instanceof ZodError) {
      return { status, error: "Some fields need attention.", fieldErrors: fieldErrorsOf(error.cause) };
    }
    const cause = isKeywardError(error.cause) ? error.cause : null;
    const field = typeof cause?.details?.field === "string" ? cause.details.field : null;
    return { status, error: error.message || GENERIC, fieldErrors: field ? { [field]: [error.message] } : {} };
  }
  if (isKeywardError(error)) {
    const field = typeof error.details?.field === "string" ? error.details.field : null;
    return { status: error.status, error: error.message, fieldErrors: field ? { [field]: [error.message] } : {} };
  }
  throw error;
}

function fieldErrorsOf(error: ZodError): Record<string, string[]> {
  const flattened: Record<string, string[] | undefined> = z.flattenError(error).fieldErrors;
  return Object.fromEntries(Object.entries(flattened).filter((entry): entry is [string, string[]] => Array.isArray(entry[1])));
}
