import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData, useNavigate, useNavigation, useSearchParams } from "@remix-run/react";
import { ChevronRight, Download, KeyRound, ScrollText, Terminal, User, X } from "lucide-react";
import { useEffect, useState } from "react";
import { z } from "zod";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { PageHeader } from "~/components/page-header";
import { RelativeTime } from "~/components/relative-time";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card } from "~/components/ui/card";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { Select, SelectContent, SelectGroup, SelectItem, SelectLabel, SelectSeparator, SelectTrigger, SelectValue } from "~/components/ui/select";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { AUDIT_ACTION_GROUPS, describeAction } from "~/lib/audit-actions";
import type { AuditEntryView } from "~/lib/audit-schemas";
import { cn } from "~/lib/utils";
import { requireAdmin } from "~/session.server";

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
  action: z.string().regex(/^[a-z_]+(\.[a-z_]+)*(\.\*)?$/).optional().catch(undefined),
  actor: z.string().regex(ID).optional().catch(undefined),
  target: z.string().trim().regex(ID).optional().catch(undefined),
  range: z.enum(RANGES.map((r) => r.value) as [Range, ...Range[]]).catch("any"),
  cursor: z.string().max(200).optional().catch(undefined),
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller } = await requireAdmin(request, context);
  const params = filterParams.parse(Object.fromEntries(new URL(request.url).searchParams));
  const now = context.keyward.clock.now();
  const span = RANGES.find((r) => r.value === params.range)!.ms;
  const filter = {
    action: params.action,
    actorId: params.actor,
    targetId: params.target || undefined,
    from: span ? new Date(now.getTime() - span).toISOString() : undefined,
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
  const older = new URLSearchParams(params);
  if (data.nextCursor) older.set("cursor", data.nextCursor);
  const newest = new URLSearchParams(params);
  newest.delete("cursor");

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
        <div className="flex items-center justify-between">
          {data.paged ? (
            <Button variant="ghost" size="sm" asChild>
              <Link to={`/audit?${newest.toString()}`} preventScrollReset>
                Back to newest
              </Link>
            </Button>
          ) : (
            <span />
          )}
          {data.nextCursor ? (
            <Button variant="outline" size="sm" asChild>
              <Link to={`/audit?${older.toString()}`}>
                Older entries <ChevronRight aria-hidden />
              </Link>
            </Button>
          ) : null}
        </div>
      </div>
    </>
  );
}

function Filters({ users }: { users: { id: string; email: string }[] }) {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [target, setTarget] = useState(params.get("target") ?? "");
  const action = params.get("action") ?? "all";
  const actor = params.get("actor") ?? "all";
  const range = params.get("range") ?? "any";

  const apply = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params);
    next.delete("cursor");
    for (const [name, value] of Object.entries(changes)) {
      if (!value || value === "all" || value === "any") next.delete(name);
      else next.set(name, value);
    }
    navigate({ pathname: "/audit", search: next.toString() }, { replace: true, preventScrollReset: true });
  };

  useEffect(() => {
    if (target.trim() === (params.get("target") ?? "")) return;
    const timer = setTimeout(() => apply({ target: target.trim() }), 400);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [target]);

  const actionLabel = action === "all" ? "All actions" : action.endsWith(".*") ? `All ${AUDIT_ACTION_GROUPS.find((g) => g.family === action)?.label.toLowerCase() ?? action}` : action;
  const actorLabel = actor === "all" ? "Any actor" : (users.find((u) => u.id === actor)?.email ?? actor);

  return (
    <form role="search" className="grid gap-3 sm:grid-cols-2 lg:flex lg:items-center" onSubmit={(event) => event.preventDefault()}>
      <div className="lg:w-56">
        <Label htmlFor="audit-action" className="sr-only">
          Filter by action
        </Label>
        <Select value={action} onValueChange={(value) => apply({ action: value })}>
          <SelectTrigger id="audit-action" aria-label="Filter by action">
            <SelectValue>{actionLabel}</SelectValue>
          </SelectTrigger>
          <SelectContent>
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
          </SelectContent>
        </Select>
      </div>
      <div className="lg:w-56">
        <Label htmlFor="audit-actor" className="sr-only">
          Filter by actor
        </Label>
        <Select value={actor} onValueChange={(value) => apply({ actor: value })}>
          <SelectTrigger id="audit-actor" aria-label="Filter by actor">
            <SelectValue>{actorLabel}</SelectValue>
          </SelectTrigger>
          <SelectContent>
            <SelectItem value="all">Any actor</SelectItem>
            {users.map((user) => (
              <SelectItem key={user.id} value={user.id}>
                {user.email}
              </SelectItem>
            ))}
          </SelectContent>
        </Select>
      </div>
      <div className="lg:w-64">
        <Label htmlFor="audit-target" className="sr-only">
          Filter by key or user id
        </Label>
        <Input id="audit-target" value={target} onChange={(event) => setTarget(event.target.value)} placeholder="Key or user id (key_… / usr_…)" className="font-mono text-xs placeholder:font-sans placeholder:text-sm" />
      </div>
      <div className="lg:w-44">
        <Label htmlFor="audit-range" className="sr-only">
          Time range
        </Label>
        <Select value={range} onValueChange={(value) => apply({ range: value })}>
          <SelectTrigger id="audit-range" aria-label="Time range">
            <SelectValue>{RANGES.find((r) => r.value === range)?.label ?? "Any time"}</SelectValue>
          </SelectTrigger>
          <SelectContent>
            {RANGES.map((r) => (
              <SelectItem key={r.value} value={r.value}>
                {r.label}
              </SelectItem>
            ))}
          </SelectContent>
        </Select>
      </div>
      {action !== "all" || actor !== "all" || range !== "any" || params.get("target") ? (
        <Button
          type="button"
          variant="ghost"
          size="sm"
          onClick={() => {
            setTarget("");
            navigate("/audit", { replace: true });
          }}
        >
          <X aria-hidden /> Reset
        </Button>
      ) : null}
    </form>
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
