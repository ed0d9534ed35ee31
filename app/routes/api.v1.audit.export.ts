import { withApiKey } from "~/lib/api-key-middleware.server";
import { auditExportResponse } from "~/lib/audit-export.server";
import { apiRoute } from "~/lib/http.server";

/** The audit trail for a range as a CSV or NDJSON download (admin scope). */
const route = apiRoute({
  GET: withApiKey({ operation: "audit.export" }, ({ request, context, actor }) => auditExportResponse(new URL(request.url), context, actor)),
});
export const loader = route.loader;
export const action = route.action;
