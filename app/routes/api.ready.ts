import type { LoaderFunctionArgs } from "@remix-run/node";

/** Readiness: the database answers. */
export async function loader({ context }: LoaderFunctionArgs) {
  try {
    await context.keyward.database.ping();
    return Response.json({ status: "ready", database: context.keyward.database.kind }, { headers: { "Cache-Control": "no-store" } });
  } catch {
    return Response.json({ status: "unavailable", database: context.keyward.database.kind }, { status: 503, headers: { "Retry-After": "5", "Cache-Control": "no-store" } });
  }
}
