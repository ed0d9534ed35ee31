import type { LoaderFunctionArgs } from "@remix-run/node";
import { auditExportResponse } from "~/lib/audit-export.server";
import { toProblem } from "~/lib/http.server";
import { requireAdmin } from "~/session.server";

/** The dashboard's "Export" buttons: the same download as GET /api/v1/audit/export, for a signed-in admin. */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const { actor } = await requireAdmin(request, context);
  try {
    return await auditExportResponse(new URL(request.url), context, actor);
  } catch (error) {
    return toProblem(error, context.requestId);
  }
}
