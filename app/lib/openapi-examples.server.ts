import captured from "./openapi-examples.json";

/**
 * Examples for the OpenAPI document: one realistic body per request and response, captured from a
 * tour of the real app (tests/contract/capture-examples.ts writes openapi-examples.json) and checked
 * against their schemas by tests/api/openapi-examples.test.ts, so an example cannot drift either.
 * Keys in them come from a throwaway database and open nothing.
 */

const requests: Record<string, unknown> = captured.requests;
const responses: Record<string, unknown> = captured.responses;

/** The example body of an operation's request, or of its response (`context`: operationId, or "operationId status"). */
export function exampleOf(kind: "request" | "response", context: string): unknown {
  return (kind === "request" ? requests : responses)[context];
}

/** Examples of the bodies that are not JSON (NDJSON, CSV), by "operationId media-type". */
export const STREAM_EXAMPLES: Record<string, string> = captured.streams;
