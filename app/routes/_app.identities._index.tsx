import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData, useSearchParams, useSubmit } from "@remix-run/react";
import { Fingerprint, Search } from "lucide-react";
import { z } from "zod";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { PageHeader } from "~/components/page-header";
import { RelativeTime } from "~/components/relative-time";
import { Button } from "~/components/ui/button";
import { Card } from "~/components/ui/card";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { listIdentitiesInput } from "~/lib/apis-schemas";
import { apiIdSchema } from "~/lib/key-schemas";
import { requireUser } from "~/session.server";

export const meta: MetaFunction = () => [{ title: "Identities · Keyward" }];

const listParams = z.object({
  q: listIdentitiesInput.shape.q.catch(undefined),
  api: apiIdSchema.optional().catch(undefined),
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { actor } = await requireUser(request, context);
  const { q, api } = listParams.parse(Object.fromEntries(new URL(request.url).searchParams));
  const [identities, apis] = await Promise.all([
    context.keyward.identities.list(actor, { q: q || undefined, apiId: api, limit: 100 }),
    context.keyward.apis.names(actor, { limit: 100, includeArchived: true }),
  ]);
  const names = new Map(apis.map((entry) => [entry.id, entry.name]));
  return json({
    identities: identities.data.map((identity) => ({ ...identity, apiName: names.get(identity.apiId) ?? identity.apiId })),
    more: identities.nextCursor !== null,
    apis,
    now: context.keyward.clock.now().toISOString(),
  });
}

export default function IdentitiesIndex() {
  const { identities, more, apis, now } = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const submit = useSubmit();
  const filtered = Boolean(params.get("q") || params.get("api"));
  return (
    <>
      <PageHeader title="Identities" description="Your customers, by your own id for them. An identity is created with the first key you issue for a new external id." />
      <div className="space-y-4">
        <Form role="search" method="get" className="flex flex-col gap-3 sm:flex-row sm:items-end" onChange={(event) => event.target instanceof HTMLSelectElement && submit(event.currentTarget, { replace: true })}>
          <div className="relative w-full sm:max-w-xs">
            <Label htmlFor="identity-search" className="sr-only">
              Search by external id
            </Label>
            <Search className="pointer-events-none absolute left-2.5 top-2.5 h-4 w-4 text-muted-foreground" aria-hidden />
            <Input id="identity-search" type="search" name="q" defaultValue={params.get("q") ?? ""} placeholder="Search by external id…" className="pl-8" />
          </div>
          <div className="w-full sm:w-56">
            <Label htmlFor="identity-api" className="sr-only">
              Filter by API
            </Label>
            <select
              id="identity-api"
              name="api"
              defaultValue={params.get("api") ?? ""}
              className="flex h-9 w-full rounded-md border border-input bg-background px-3 py-1 text-sm shadow-sm focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring"
            >
              <option value="">Every API</option>
              {apis.map((api) => (
                <option key={api.id} value={api.id}>
                  {api.name}
                </option>
              ))}
            </select>
          </div>
          <Button type="submit" variant="outline">
            Search
          </Button>
          {filtered ? (
            <Button asChild variant="ghost">
              <Link to="/identities">Reset</Link>
            </Button>
          ) : null}
        </Form>
        {identities.length === 0 ? (
          <Card className="flex flex-col items-center justify-center gap-3 border-dashed px-6 py-16 text-center shadow-none">
            <div className="flex h-12 w-12 items-center justify-center rounded-full bg-muted">
              <Fingerprint className="h-6 w-6 text-muted-foreground" aria-hidden />
            </div>
            <h2 className="text-lg font-semibold">{filtered ? "No identities match" : "No identities yet"}</h2>
            <p className="max-w-md text-sm text-muted-foreground">
              {filtered ? "Try another external id or API." : "Issue a key for one of your APIs with an external id (your customer's id) and its identity appears here, with all of its keys."}
            </p>
          </Card>
        ) : (
          <Card className="overflow-hidden">
            <Table>
              <TableHeader>
                <TableRow className="hover:bg-transparent">
                  <TableHead className="pl-4">External id</TableHead>
                  <TableHead>API</TableHead>
                  <TableHead className="text-right">
                    <span aria-hidden>Live / total keys</span>
                    <span className="sr-only">Live keys of total keys</span>
                  </TableHead>
                  <TableHead className="hidden pr-4 sm:table-cell">Created</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {identities.map((identity) => (
                  <TableRow key={identity.id} data-identity-id={identity.id}>
                    <TableCell className="max-w-[12rem] pl-4 sm:max-w-[20rem]">
                      <Link to={`/identities/${identity.id}`} className="block truncate rounded-sm font-mono font-medium text-foreground hover:underline focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring" title={identity.externalId}>
                        {identity.externalId}
                      </Link>
                    </TableCell>
                    <TableCell className="max-w-[10rem]">
                      <Link to={`/apis/${identity.apiId}`} className="block truncate text-muted-foreground hover:underline">
                        {identity.apiName}
                      </Link>
                    </TableCell>
                    <TableCell className="text-right tabular-nums">
                      <span className="font-medium text-foreground">{identity.keyCount.live}</span>
                      <span className="text-muted-foreground"> / {identity.keyCount.total}</span>
                    </TableCell>
                    <TableCell className="hidden whitespace-nowrap pr-4 sm:table-cell">
                      <RelativeTime iso={identity.createdAt} now={now} />
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </Card>
        )}
        {more ? <p className="text-center text-xs text-muted-foreground">The 100 newest are shown: search by external id to find others.</p> : null}
      </div>
    </>
  );
}

export function ErrorBoundary() {
  return <RouteErrorBoundary />;
}
