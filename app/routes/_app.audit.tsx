import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData, useNavigation, useSearchParams } from "@remix-run/react";
import { Download, KeyRound, ScrollText, Terminal, User } from "lucide-react";
import { z } from "zod";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { FilterBar, FilterSelect, FilterText, rangeStart, TimeRangeSelect, useTypedFilter, useUrlFilters } from "~/components/filter-bar";
import { PageHeader } from "~/components/page-header";
import { Pager } from "~/components/pager";
import { RelativeTime } from "~/components/relative-time";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card } from "~/components/ui/card";
import { SelectGroup, SelectItem, SelectLabel, SelectSeparator } from "~/components/ui/select";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { AUDIT_ACTION_GROUPS, describeAction } from "~/lib/audit-actions";
import { auditFilterInput, type AuditEntryView } from "~/lib/audit-schemas";
import { cn } from "~/lib/utils";
import { requireAdmin } from "~/session.server";
import { pageCursorParam } from "~/lib/cursor";

export const meta: MetaFunction = () => [{ title: "Audit log · Keyward" }];

const PAGE_SIZE = 50;

const RANGES = [
  { value: "any", label: "Any time", ms: null },
  { value: "1h", label: "Last hour", ms: 3_600_000 },
  { value: "24h", label: "Last 24 hours", ms: 86_400_000 },
  { value: "7d", label: "Last 7 days", ms: 7 * 86_400_000 },
  { value: "30d", label: "Last 30 days", ms: 30 * 86_400_000 },
] as const;
type Range = (typeof RANGES)[number]["value"];

const ID = /^[\w.:-]{1,64}$/;
const filterParams = z.object({
  action: auditFilterInput.shape.action.catch(undefined),
  actor: z.string().regex(ID).optional().catch(undefined),
  target: z.string().trim().regex(ID).optional().catch(undefined),
  range: z.enum(RANGES.map((r) => r.value) as [Range, ...Range[]]).catch("any"),
  cursor: pageCursorParam("string"),
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller } = await requireAdmin(request, context);
  const params = filterParams.parse(Object.fromEntries(new URL(request.url).searchParams));
  const now = context.keyward.clock.now();
  const filter = {
    action: params.action,
    actorId: params.actor,
    targetId: params.target || undefined,
    from: rangeStart(RANGES, params.range, now),
  };
  const [page, users] = await Promise.all([caller.audit.list({ ...filter, cursor: params.cursor, limit: PAGE_SIZE }), caller.users.list()]);
  const exportQuery = new URLSearchParams(Object.entries(filter).filter((entry): entry is [string, string] => Boolean(entry[1])));
  return json({
    entries: page.data,
    nextCursor: page.nextCursor,
    paged: Boolean(params.cursor),
    users: users.map((u) => ({ id: u.id, email: u.email })),
    exportQuery: exportQuery.toString(),
    now: now.toISOString(),
  });
}

export default function AuditLog() {
  const data = useLoaderData<typeof loader>();
  const navigation = useNavigation();
  const [params] = useSearchParams();
  const filtered = ["action", "actor", "target", "range"].some((name) => params.get(name) && params.get(name) !== "any");

  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every management action from the dashboard, the API, the SDK and the CLI. Entries cannot be changed or deleted."
        actions={
          <>
            <Button variant="outline" size="sm" asChild>
              <a href={`/audit/export?format=csv&${data.exportQuery}`} download>
                <Download aria-hidden /> CSV
              </a>
            </Button>
            <Button variant="outline" size="sm" asChild>
              <a href={`/audit/export?format=ndjson&${data.exportQuery}`} download>
                <Download aria-hidden /> NDJSON
              </a>
            </Button>
          </>
        }
      />
      <div className="space-y-4">
        <Filters users={data.users} />
        {data.entries.length === 0 ? (
          <Card className="flex flex-col items-center gap-2 px-6 py-14 text-center">
            <ScrollText className="h-8 w-8 text-muted-foreground" aria-hidden />
            <p className="font-medium">{filtered ? "No entries match these filters" : "Nothing has happened yet"}</p>
            <p className="max-w-sm text-sm text-muted-foreground">
              {filtered ? "Widen the time range or reset the filters." : "Create a key or a user and the change is recorded here, with who made it and from where."}
            </p>
          </Card>
        ) : (
          <Card className={cn("overflow-hidden transition-opacity", navigation.state === "loading" && navigation.location?.pathname === "/audit" && "opacity-60")}>
            <AuditTable entries={data.entries} now={data.now} />
          </Card>
        )}
        <Pager pathname="/audit" nextCursor={data.nextCursor} paged={data.paged} olderLabel="Older entries" />
      </div>
    </>
  );
}

/** What each filter is when the URL does not name it, as the loader reads it. */
const FILTER_DEFAULTS = { action: "all", actor: "all", target: "", range: "any" };

function Filters({ users }: { users: { id: string; email: string }[] }) {
  const filters = useUrlFilters("/audit", FILTER_DEFAULTS);
  const [target, setTarget] = useTypedFilter(filters, "target", { delayMs: 400 });
  const action = filters.value("action");
  const actor = filters.value("actor");
  const actionLabel = action === "all" ? "All actions" : action.endsWith(".*") ? `All ${AUDIT_ACTION_GROUPS.find((g) => g.family === action)?.label.toLowerCase() ?? action}` : action;
  const actorLabel = actor === "all" ? "Any actor" : (users.find((u) => u.id === actor)?.email ?? actor);

  return (
    <FilterBar filters={filters} onReset={() => setTarget("")} className="lg:items-center">
      <FilterSelect filters={filters} name="action" id="audit-action" label="Filter by action" display={actionLabel} className="lg:w-56">
        <SelectItem value="all">All actions</SelectItem>
        {AUDIT_ACTION_GROUPS.map((group) => (
          <SelectGroup key={group.family}>
            <SelectSeparator />
            <SelectLabel>{group.label}</SelectLabel>
            <SelectItem value={group.family}>All {group.label.toLowerCase()}</SelectItem>
            {group.actions.map((name) => (
              <SelectItem key={name} value={name} className="font-mono text-xs">
                {name}
              </SelectItem>
            ))}
          </SelectGroup>
        ))}
      </FilterSelect>
      <FilterSelect filters={filters} name="actor" id="audit-actor" label="Filter by actor" display={actorLabel} className="lg:w-56">
        <SelectItem value="all">Any actor</SelectItem>
        {users.map((user) => (
          <SelectItem key={user.id} value={user.id}>
            {user.email}
          </SelectItem>
        ))}
      </FilterSelect>
      <FilterText id="audit-target" label="Filter by key or user id" value={target} onChange={setTarget} placeholder="Key or user id (key_… / usr_…)" className="lg:w-64" />
      <TimeRangeSelect filters={filters} id="audit-range" ranges={RANGES} />
    </FilterBar>
  );
}

function Actor({ entry }: { entry: AuditEntryView }) {
  if (entry.actorType === "system") {
    return (
      <span className="inline-flex items-center gap-1.5 text-muted-foreground">
        <Terminal className="h-3.5 w-3.5" aria-hidden /> System{typeof entry.details.via === "string" ? ` (${entry.details.via})` : ""}
      </span>
    );
  }
  return (
    <div className="min-w-0">
      <span className="inline-flex items-center gap-1.5">
        <User className="h-3.5 w-3.5 shrink-0 text-muted-foreground" aria-hidden />
        <span className="truncate">{entry.actorEmail ?? entry.actorId}</span>
      </span>
      {entry.actorKeyId ? (
        <Link to={`/keys/${entry.actorKeyId}`} className="mt-0.5 flex items-center gap-1 font-mono text-xs text-muted-foreground hover:underline">
          <KeyRound className="h-3 w-3" aria-hidden /> via {entry.actorKeyId}
        </Link>
      ) : null}
    </div>
  );
}

function Target({ entry }: { entry: AuditEntryView }) {
  const href = entry.targetType === "api_key" ? `/keys/${entry.targetId}` : entry.targetType === "user" ? `/users/${entry.targetId}` : null;
  const label = <span className="font-mono text-xs">{entry.targetId}</span>;
  return href ? (
    <Link to={href} className="hover:underline">
      {label}
    </Link>
  ) : (
    label
  );
}

/** The changed fields and similar, compactly; the full JSON on demand. */
function Details({ details }: { details: Record<string, unknown> }) {
  const entries = Object.entries(details).filter(([name]) => name !== "via");
  if (entries.length === 0) return <span className="text-muted-foreground">—</span>;
  const summary = entries
    .slice(0, 3)
    .map(([name, value]) => `${name}: ${typeof value === "object" ? JSON.stringify(value) : String(value)}`)
    .join(" · ");
  return (
    <details className="group max-w-[18rem] text-xs">
      <summary className="cursor-pointer truncate text-muted-foreground marker:content-none group-open:text-foreground">{summary}</summary>
      <pre className="mt-2 max-h-64 overflow-auto rounded-md bg-muted p-2 font-mono text-[11px] leading-relaxed">{JSON.stringify(details, null, 2)}</pre>
    </details>
  );
}

function AuditTable({ entries, now }: { entries: AuditEntryView[]; now: string }) {
  return (
    <Table>
      <TableHeader>
        <TableRow>
          <TableHead className="w-32">When</TableHead>
          <TableHead>Actor</TableHead>
          <TableHead>Action</TableHead>
          <TableHead>Target</TableHead>
          <TableHead className="hidden xl:table-cell">Source</TableHead>
          <TableHead className="hidden md:table-cell">Details</TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {entries.map((entry) => (
          <TableRow key={entry.id} data-action={entry.action}>
            <TableCell className="align-top text-sm">
              <RelativeTime iso={entry.occurredAt} now={now} />
            </TableCell>
            <TableCell className="max-w-[16rem] align-top text-sm">
              <Actor entry={entry} />
            </TableCell>
            <TableCell className="align-top">
              <Badge variant="outline" className="font-mono text-[11px] font-normal" title={describeAction(entry.action)}>
                {entry.action}
              </Badge>
            </TableCell>
            <TableCell className="align-top">
              <Target entry={entry} />
            </TableCell>
            <TableCell className="hidden align-top text-xs text-muted-foreground xl:table-cell">
              <div className="font-mono">{entry.clientIp ?? "—"}</div>
              {entry.requestId ? (
                <div className="max-w-[10rem] truncate font-mono" title={`Request ${entry.requestId}`}>
                  {entry.requestId}
                </div>
              ) : null}
            </TableCell>
            <TableCell className="hidden align-top md:table-cell">
              <Details details={entry.details} />
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

export function ErrorBoundary() {
  return <RouteErrorBoundary />;
}
