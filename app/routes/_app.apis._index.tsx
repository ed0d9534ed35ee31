import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { Boxes, Plus } from "lucide-react";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { PageHeader } from "~/components/page-header";
import { RelativeTime } from "~/components/relative-time";
import { Button } from "~/components/ui/button";
import { Card } from "~/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { requireUser } from "~/session.server";

export const meta: MetaFunction = () => [{ title: "APIs · Keyward" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { actor } = await requireUser(request, context);
  const { data } = await context.keyward.apis.list(actor, { limit: 100 });
  return json({ apis: data, now: context.keyward.clock.now().toISOString() });
}

function EmptyState() {
  return (
    <Card className="flex flex-col items-center justify-center gap-4 border-dashed px-6 py-16 text-center shadow-none">
      <div className="flex h-12 w-12 items-center justify-center rounded-full bg-muted">
        <Boxes className="h-6 w-6 text-muted-foreground" aria-hidden />
      </div>
      <div className="max-w-md space-y-2">
        <h2 className="text-lg font-semibold">No APIs yet</h2>
        <p className="text-sm text-muted-foreground">
          An API is a service of yours that Keyward protects. Its keys share a prefix of your choice (<code className="font-mono text-foreground">acme_live_…</code>), carry permissions from its own
          vocabulary and start from its defaults. You issue keys to your customers, and your service checks each request with one call to <code className="font-mono text-foreground">/api/v1/verify</code>.
        </p>
      </div>
      <Button asChild>
        <Link to="/apis/new">
          <Plus /> Create your first API
        </Link>
      </Button>
    </Card>
  );
}

export default function ApisIndex() {
  const { apis, now } = useLoaderData<typeof loader>();
  return (
    <>
      <PageHeader
        title="APIs"
        description="The services you protect with keys you issue to your customers."
        actions={
          apis.length > 0 ? (
            <Button asChild>
              <Link to="/apis/new">
                <Plus /> Create API
              </Link>
            </Button>
          ) : null
        }
      />
      {apis.length === 0 ? (
        <EmptyState />
      ) : (
        <Card className="overflow-hidden">
          <Table>
            <TableHeader>
              <TableRow className="hover:bg-transparent">
                <TableHead className="pl-4">Name</TableHead>
                <TableHead>Prefix</TableHead>
                <TableHead className="text-right">
                  <span aria-hidden>Live / total keys</span>
                  <span className="sr-only">Live keys of total keys</span>
                </TableHead>
                <TableHead className="hidden pr-4 sm:table-cell">Created</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {apis.map((api) => (
                <TableRow key={api.id} data-api-id={api.id}>
                  <TableCell className="max-w-[12rem] pl-4 sm:max-w-[20rem]">
                    <Link to={`/apis/${api.id}`} className="block truncate rounded-sm font-medium text-foreground hover:underline focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring" title={api.name}>
                      {api.name}
                    </Link>
                    <span className="font-mono text-xs text-muted-foreground">{api.id}</span>
                  </TableCell>
                  <TableCell>
                    <code className="rounded bg-muted px-1.5 py-0.5 font-mono text-xs">{api.prefix}_</code>
                  </TableCell>
                  <TableCell className="text-right tabular-nums">
                    <span className="font-medium text-foreground">{api.keyCount.live}</span>
                    <span className="text-muted-foreground"> / {api.keyCount.total}</span>
                  </TableCell>
                  <TableCell className="hidden whitespace-nowrap pr-4 sm:table-cell">
                    <RelativeTime iso={api.createdAt} now={now} />
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Card>
      )}
    </>
  );
}

export function ErrorBoundary() {
  return <RouteErrorBoundary />;
}
