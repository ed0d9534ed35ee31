import { isRouteErrorResponse, Link, useRouteError } from "@remix-run/react";
import { ShieldAlert, TriangleAlert } from "lucide-react";
import { Button } from "~/components/ui/button";

const TITLES: Record<number, string> = {
  401: "Please sign in",
  403: "You don't have access to this page",
  404: "Page not found",
};

/** What a route shows when its loader or action throws: a readable page, never a stack trace. */
export function RouteErrorBoundary() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const detail =
    isRouteErrorResponse(error) && typeof error.data === "string" && error.data
      ? error.data
      : status === 500
        ? "Something went wrong on our side. Try again; if it keeps happening, check the server logs."
        : null;
  const Icon = status === 403 ? ShieldAlert : TriangleAlert;
  return (
    <div className="flex min-h-[50vh] flex-col items-center justify-center gap-4 px-6 py-16 text-center">
      <div className="flex h-12 w-12 items-center justify-center rounded-full bg-muted">
        <Icon className="h-6 w-6 text-muted-foreground" aria-hidden />
      </div>
      <div className="space-y-1">
        <p className="text-sm font-medium text-muted-foreground">Error {status}</p>
        <h1 className="text-2xl font-semibold tracking-tight">{TITLES[status] ?? "Something went wrong"}</h1>
        {detail ? <p className="max-w-md text-sm text-muted-foreground">{detail}</p> : null}
      </div>
      <Button asChild variant="outline">
        <Link to="/keys">Back to API keys</Link>
      </Button>
    </div>
  );
}
