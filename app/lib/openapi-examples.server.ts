/**
 * Examples for the OpenAPI document: one realistic body per request and response schema, checked
 * against its schema by tests/api/openapi-examples.test.ts (so an example cannot drift either).
 */

const EXAMPLES: Record<string, unknown> = {};

/** The example of a schema; `context` (operationId, or "operationId status") picks a more specific one. */
export function exampleOf(schema: string, context: string): unknown {
  return EXAMPLES[context] ?? EXAMPLES[schema];
}

/** Examples of the bodies that are not JSON (NDJSON, CSV, event streams), by operationId (and media type). */
export const STREAM_EXAMPLES: Record<string, string> = {};
