import type { AppLoadContext } from "@remix-run/node";
import type { Actor } from "../services/actor.server";
import { auditExportInput } from "./audit-schemas";
import { parseInput, queryObject } from "./http.server";

const CONTENT_TYPES = { csv: "text/csv; charset=utf-8", ndjson: "application/x-ndjson" } as const;

/**
 * The audit export as a streamed download, for the REST API and the dashboard alike. The filter is
 * validated and the first page read before the response starts, so a bad filter is a 400, not a
 * broken download.
 */
export async function auditExportResponse(url: URL, context: AppLoadContext, actor: Actor): Promise<Response> {
  const input = parseInput(auditExportInput, queryObject(url));
  const chunks = context.keyward.audit.export(actor, input);
  const first = await chunks.next();
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (!first.done) controller.enqueue(encoder.encode(first.value));
    },
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
  const stamp = context.keyward.clock.now().toISOString().slice(0, 19).replaceAll(":", "-");
  return new Response(body, {
    headers: {
      "Content-Type": CONTENT_TYPES[input.format],
      "Content-Disposition": `attachment; filename="keyward-audit-${stamp}.${input.format}"`,
      "Cache-Control": "no-store",
    },
  });
}
