import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useFetcher, useLoaderData, useNavigate, useNavigation, useSearchParams } from "@remix-run/react";
import { Ban, CirclePlay, Copy, ExternalLink, KeyRound, Loader2, MoreHorizontal, Plus, RefreshCw, Search, Trash2, X } from "lucide-react";
import { useEffect, useMemo, useState } from "react";
import { toast } from "sonner";
import { z } from "zod";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { KeyStatusBadge } from "~/components/key-status-badge";
import { PageHeader } from "~/components/page-header";
import { RelativeTime } from "~/components/relative-time";
import {
  AlertDialog,
  AlertDialogAction,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogHeader,
  AlertDialogTitle,
} from "~/components/ui/alert-dialog";
import { Badge } from "~/components/ui/badge";
import { Button, buttonVariants } from "~/components/ui/button";
import { Card } from "~/components/ui/card";
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuLabel, DropdownMenuSeparator, DropdownMenuTrigger } from "~/components/ui/dropdown-menu";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { describeFailure } from "~/lib/action-errors.server";
import { KEY_LIST_ORDERS, keyIdSchema, keyStatusFilterSchema, listKeysInput, userIdSchema } from "~/lib/key-schemas";
import { useActionToast } from "~/lib/use-action-toast";
import { cn } from "~/lib/utils";
import { readForm } from "~/lib/request.server";
import { requireUser } from "~/session.server";
import type { ApiKeyView } from "~/services/keys.server";
import { pageCursorParam } from "~/lib/cursor";

export const meta: MetaFunction = () => [{ title: "API keys · Keyward" }];

const PAGE_SIZE = 20;

const STATUS_FILTERS = [
  { value: "all", label: "All statuses" },
  { value: "active", label: "Active" },
  { value: "disabled", label: "Disabled" },
  { value: "expired", label: "Expired" },
  { value: "revoked", label: "Revoked" },
] as const;

const SCOPE_FILTERS = ["all", "read", "write", "admin"] as const;
const ORDERS = [
  { value: "newest", label: "Newest first" },
  { value: "oldest", label: "Oldest first" },
] as const;

const listParams = z.object({
  q: listKeysInput.shape.q.catch(undefined),
  status: keyStatusFilterSchema.catch("all"),
  scope: z.enum(SCOPE_FILTERS).catch("all"),
  owner: userIdSchema.optional().catch(undefined),
  order: z.enum(KEY_LIST_ORDERS).catch("newest"),
  cursor: pageCursorParam("string"),
});

/** The URL parameters that choose which keys are listed (the cursor only pages through them). */
const FILTER_PARAMS = ["q", "status", "scope", "owner", "order"] as const;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller, user } = await requireUser(request, context);
  const url = new URL(request.url);
  const { q, status, scope, owner, order, cursor } = listParams.parse(Object.fromEntries(url.searchParams));
  const isAdmin = user.role === "admin";
  const [page, owners] = await Promise.all([
    caller.keys.list({ q: q || undefined, status, scope: scope === "all" ? undefined : scope, ownerId: isAdmin ? owner : undefined, order, cursor, limit: PAGE_SIZE }),
    isAdmin ? caller.users.list() : Promise.resolve([]),
  ]);
  const emails = new Map(owners.map((owner) => [owner.id, owner.email]));
  return json({
    keys: page.data.map((key) => ({ ...key, ownerEmail: emails.get(key.ownerId) ?? null })),
    nextCursor: page.nextCursor,
    cursor: cursor ?? null,
    filters: filterKey(url.searchParams),
    owners: owners.map((o) => ({ id: o.id, email: o.email })),
    isAdmin,
    now: context.keyward.clock.now().toISOString(),
  });
}

/** Identifies a filter combination, so a page loaded for other filters is never appended. */
function filterKey(params: URLSearchParams): string {
  return JSON.stringify(FILTER_PARAMS.map((name) => params.get(name)?.trim() ?? ""));
}

const keyAction = z.object({ intent: z.enum(["disable", "enable", "revoke"]), id: keyIdSchema });

export async function action({ request, context }: ActionFunctionArgs) {
  const { caller } = await requireUser(request, context);
  const parsed = keyAction.safeParse(Object.fromEntries(await readForm(request)));
  if (!parsed.success) return json({ ok: false as const, error: "That request was not understood. Reload the page and try again." }, { status: 400 });
  const { intent, id } = parsed.data;
  try {
    const key = await caller.keys[intent]({ id });
    return json({ ok: true as const, intent, key });
  } catch (error) {
    const failure = describeFailure(error);
    return json({ ok: false as const, error: failure.error }, { status: failure.status });
  }
}

type KeyRow = ApiKeyView & { ownerEmail: string | null };

const DONE: Record<z.infer<typeof keyAction>["intent"], string> = { disable: "Disabled", enable: "Enabled", revoke: "Revoked" };

function KeyActions({ apiKey, onChange }: { apiKey: KeyRow; onChange: (key: ApiKeyView) => void }) {
  const fetcher = useFetcher<typeof action>();
  const [confirmRevoke, setConfirmRevoke] = useState(false);
  const pending = fetcher.state !== "idle";

  useActionToast(fetcher, { success: (data) => `${DONE[data.intent]} “${data.key.name}”`, error: (data) => data.error, onSuccess: (data) => onChange(data.key) });

  const submit = (intent: z.infer<typeof keyAction>["intent"]) => fetcher.submit({ intent, id: apiKey.id }, { method: "post" });

  const copyId = async () => {
    try {
      await navigator.clipboard.writeText(apiKey.id);
      toast.success("Key id copied", { description: apiKey.id });
    } catch {
      toast.error("Could not copy: your browser blocked clipboard access.");
    }
  };

  return (
    <>
      <DropdownMenu>
        <DropdownMenuTrigger asChild>
          <Button variant="ghost" size="icon" className="h-8 w-8" aria-label={`Actions for ${apiKey.name}`} disabled={pending}>
            {pending ? <Loader2 className="animate-spin" /> : <MoreHorizontal />}
          </Button>
        </DropdownMenuTrigger>
        <DropdownMenuContent align="end" className="w-48">
          <DropdownMenuLabel className="truncate text-xs font-normal text-muted-foreground">{apiKey.name}</DropdownMenuLabel>
          <DropdownMenuItem asChild>
            <Link to={`/keys/${apiKey.id}`}>
              <ExternalLink /> Open
            </Link>
          </DropdownMenuItem>
          <DropdownMenuItem onSelect={copyId}>
            <Copy /> Copy key id
          </DropdownMenuItem>
          {apiKey.status !== "revoked" ? (
            <>
              <DropdownMenuSeparator />
              <DropdownMenuItem asChild>
                <Link to={`/keys/${apiKey.id}?rotate`}>
                  <RefreshCw /> Rotate…
                </Link>
              </DropdownMenuItem>
              {apiKey.disabledAt ? (
                <DropdownMenuItem onSelect={() => submit("enable")}>
                  <CirclePlay /> Enable
                </DropdownMenuItem>
              ) : (
                <DropdownMenuItem onSelect={() => submit("disable")}>
                  <Ban /> Disable
                </DropdownMenuItem>
              )}
              <DropdownMenuItem className="text-destructive focus:bg-destructive/10 focus:text-destructive" onSelect={() => setConfirmRevoke(true)}>
                <Trash2 /> Revoke…
              </DropdownMenuItem>
            </>
          ) : null}
        </DropdownMenuContent>
      </DropdownMenu>
      <AlertDialog open={confirmRevoke} onOpenChange={setConfirmRevoke}>
        <AlertDialogContent>
          <AlertDialogHeader>
            <AlertDialogTitle>Revoke “{apiKey.name}”?</AlertDialogTitle>
            <AlertDialogDescription>
              Requests using <span className="font-mono text-foreground">{apiKey.start}…{apiKey.last4}</span> will be refused with 401 from now on.
              Revoking is permanent: the key cannot be enabled again.
            </AlertDialogDescription>
          </AlertDialogHeader>
          <AlertDialogFooter>
            <AlertDialogCancel>Cancel</AlertDialogCancel>
            <AlertDialogAction className={buttonVariants({ variant: "destructive" })} onClick={() => submit("revoke")}>
              Revoke key
            </AlertDialogAction>
          </AlertDialogFooter>
        </AlertDialogContent>
      </AlertDialog>
    </>
  );
}

function KeysTable({ keys, isAdmin, now, onChange }: { keys: KeyRow[]; isAdmin: boolean; now: string; onChange: (key: ApiKeyView) => void }) {
  return (
    <Table>
      <TableHeader>
        <TableRow className="hover:bg-transparent">
          <TableHead className="pl-4">Name</TableHead>
          <TableHead>Status</TableHead>
          <TableHead className="hidden md:table-cell">Scopes</TableHead>
          {isAdmin ? <TableHead className="hidden lg:table-cell">Owner</TableHead> : null}
          <TableHead className="hidden sm:table-cell">Expires</TableHead>
          <TableHead className="hidden xl:table-cell">Last used</TableHead>
          <TableHead className="hidden lg:table-cell">Created</TableHead>
          <TableHead className="w-12 pr-3">
            <span className="sr-only">Actions</span>
          </TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {keys.map((key) => (
          <TableRow key={key.id} data-key-id={key.id} className={cn(key.status === "revoked" && "text-muted-foreground")}>
            <TableCell className="max-w-[11rem] pl-4 sm:max-w-[18rem]">
              <Link
                to={`/keys/${key.id}`}
                className={cn("block truncate rounded-sm font-medium hover:underline focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring", key.status !== "revoked" && "text-foreground")}
                title={key.name}
              >
                {key.name}
              </Link>
              <div className="flex min-w-0 items-center gap-1.5 text-xs text-muted-foreground">
                <code className="shrink-0 font-mono">
                  {key.start}…{key.last4}
                </code>
                {key.description ? (
                  <span className="truncate" title={key.description}>
                    · {key.description}
                  </span>
                ) : null}
              </div>
            </TableCell>
            <TableCell>
              <KeyStatusBadge status={key.status} />
            </TableCell>
            <TableCell className="hidden md:table-cell">
              <div className="flex gap-1">
                {key.scopes.map((scope) => (
                  <Badge key={scope} variant={scope === "admin" ? "warning" : "outline"} className="px-1.5 font-mono font-medium">
                    {scope}
                  </Badge>
                ))}
              </div>
            </TableCell>
            {isAdmin ? (
              <TableCell className="hidden max-w-[10rem] lg:table-cell">
                <div className="truncate text-muted-foreground" title={key.ownerEmail ?? key.ownerId}>
                  {key.ownerEmail ?? key.ownerId}
                </div>
              </TableCell>
            ) : null}
            <TableCell className="hidden whitespace-nowrap sm:table-cell">
              <RelativeTime iso={key.expiresAt} now={now} fallback="Never" />
            </TableCell>
            <TableCell className="hidden whitespace-nowrap xl:table-cell">
              <RelativeTime iso={key.lastUsedAt} now={now} fallback="Never" />
            </TableCell>
            <TableCell className="hidden whitespace-nowrap lg:table-cell">
              <RelativeTime iso={key.createdAt} now={now} />
            </TableCell>
            <TableCell className="pr-3 text-right">
              <KeyActions apiKey={key} onChange={onChange} />
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

function EmptyState({ filtered }: { filtered: boolean }) {
  return (
    <Card className="flex flex-col items-center justify-center gap-4 border-dashed px-6 py-16 text-center shadow-none">
      <div className="flex h-12 w-12 items-center justify-center rounded-full bg-muted">
        <KeyRound className="h-6 w-6 text-muted-foreground" aria-hidden />
      </div>
      {filtered ? (
        <>
          <div className="space-y-1">
            <h2 className="text-lg font-semibold">No keys match these filters</h2>
            <p className="text-sm text-muted-foreground">Try another name or status.</p>
          </div>
          <Button asChild variant="outline">
            <Link to="/keys">Clear filters</Link>
          </Button>
        </>
      ) : (
        <>
          <div className="space-y-1">
            <h2 className="text-lg font-semibold">No API keys yet</h2>
            <p className="max-w-sm text-sm text-muted-foreground">Create your first key to let an application call Keyward. You will see the key once, right after you create it.</p>
          </div>
          <Button asChild>
            <Link to="/keys/new">
              <Plus /> Create your first key
            </Link>
          </Button>
        </>
      )}
    </Card>
  );
}

function Filters({ owners }: { owners: { id: string; email: string }[] }) {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [q, setQ] = useState(params.get("q") ?? "");
  const status = params.get("status") ?? "all";
  const scope = params.get("scope") ?? "all";
  const owner = params.get("owner") ?? "all";
  const order = params.get("order") ?? "newest";

  // Follow the URL (back button, "Clear filters"), except while the user is typing in the box.
  useEffect(() => {
    if (document.activeElement?.id !== "key-search") setQ(params.get("q") ?? "");
  }, [params]);

  const apply = (next: { q?: string; status?: string; scope?: string; owner?: string; order?: string }) => {
    const search = new URLSearchParams();
    const text = (next.q ?? q).trim();
    const chosen = { status: next.status ?? status, scope: next.scope ?? scope, owner: next.owner ?? owner, order: next.order ?? order };
    if (text) search.set("q", text);
    if (chosen.status !== "all") search.set("status", chosen.status);
    if (chosen.scope !== "all") search.set("scope", chosen.scope);
    if (chosen.owner !== "all") search.set("owner", chosen.owner);
    if (chosen.order !== "newest") search.set("order", chosen.order);
    navigate({ pathname: "/keys", search: search.toString() }, { replace: true, preventScrollReset: true });
  };

  // Search as the user types, once they pause.
  useEffect(() => {
    if (q.trim() === (params.get("q") ?? "")) return;
    const timer = setTimeout(() => apply({ q }), 300);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [q]);

  return (
    <form
      role="search"
      className="flex flex-col gap-3 sm:flex-row sm:flex-wrap sm:items-center"
      onSubmit={(event) => {
        event.preventDefault();
        apply({ q });
      }}
    >
      <div className="relative w-full sm:max-w-xs">
        <Label htmlFor="key-search" className="sr-only">
          Search keys by name
        </Label>
        <Search className="pointer-events-none absolute left-2.5 top-2.5 h-4 w-4 text-muted-foreground" aria-hidden />
        <Input id="key-search" type="search" name="q" value={q} onChange={(event) => setQ(event.target.value)} placeholder="Search by name…" className="pl-8" />
      </div>
      <div className="w-full sm:w-44">
        <Label htmlFor="key-status" className="sr-only">
          Filter by status
        </Label>
        <Select value={status} onValueChange={(value) => apply({ status: value })}>
          <SelectTrigger id="key-status" aria-label="Filter by status">
            {/* The label is given, not looked up, so the server-rendered page already shows it. */}
            <SelectValue>{STATUS_FILTERS.find((filter) => filter.value === status)?.label ?? "All statuses"}</SelectValue>
          </SelectTrigger>
          <SelectContent>
            {STATUS_FILTERS.map((filter) => (
              <SelectItem key={filter.value} value={filter.value}>
                {filter.label}
              </SelectItem>
            ))}
          </SelectContent>
        </Select>
      </div>
      <div className="w-full sm:w-36">
        <Label htmlFor="key-scope" className="sr-only">
          Filter by scope
        </Label>
        <Select value={scope} onValueChange={(value) => apply({ scope: value })}>
          <SelectTrigger id="key-scope" aria-label="Filter by scope">
            <SelectValue>{scope === "all" ? "Any scope" : `Scope: ${scope}`}</SelectValue>
          </SelectTrigger>
          <SelectContent>
            {SCOPE_FILTERS.map((value) => (
              <SelectItem key={value} value={value}>
                {value === "all" ? "Any scope" : value}
              </SelectItem>
            ))}
          </SelectContent>
        </Select>
      </div>
      {owners.length > 0 ? (
        <div className="w-full sm:w-56">
          <Label htmlFor="key-owner" className="sr-only">
            Filter by owner
          </Label>
          <Select value={owner} onValueChange={(value) => apply({ owner: value })}>
            <SelectTrigger id="key-owner" aria-label="Filter by owner">
              <SelectValue>{owner === "all" ? "Every owner" : (owners.find((o) => o.id === owner)?.email ?? owner)}</SelectValue>
            </SelectTrigger>
            <SelectContent>
              <SelectItem value="all">Every owner</SelectItem>
              {owners.map((o) => (
                <SelectItem key={o.id} value={o.id}>
                  {o.email}
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        </div>
      ) : null}
      <div className="w-full sm:w-40">
        <Label htmlFor="key-order" className="sr-only">
          Sort keys
        </Label>
        <Select value={order} onValueChange={(value) => apply({ order: value })}>
          <SelectTrigger id="key-order" aria-label="Sort keys">
            <SelectValue>{ORDERS.find((o) => o.value === order)?.label ?? "Newest first"}</SelectValue>
          </SelectTrigger>
          <SelectContent>
            {ORDERS.map((o) => (
              <SelectItem key={o.value} value={o.value}>
                {o.label}
              </SelectItem>
            ))}
          </SelectContent>
        </Select>
      </div>
      {q || status !== "all" || scope !== "all" || owner !== "all" || order !== "newest" ? (
        <Button type="button" variant="ghost" size="sm" onClick={() => {
            setQ("");
            navigate("/keys", { replace: true });
          }}>
          <X aria-hidden /> Reset
        </Button>
      ) : null}
    </form>
  );
}

export default function KeysIndex() {
  const data = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const navigation = useNavigation();
  const more = useFetcher<typeof loader>();
  // Later pages, keyed by the cursor they were loaded with (a revalidation replaces a page in place).
  const [pages, setPages] = useState<{ cursor: string; keys: KeyRow[]; nextCursor: string | null }[]>([]);
  // Rows changed by an action since their page was loaded.
  const [changed, setChanged] = useState<Record<string, ApiKeyView>>({});
  const search = params.toString();

  useEffect(() => {
    setPages([]);
    setChanged({});
  }, [search]);

  const filters = filterKey(params);
  useEffect(() => {
    const page = more.data;
    if (!page?.cursor || page.filters !== filters) return;
    setPages((current) => {
      const entry = { cursor: page.cursor!, keys: page.keys, nextCursor: page.nextCursor };
      const index = current.findIndex((p) => p.cursor === page.cursor);
      if (index === -1) return [...current, entry];
      return current.map((p, i) => (i === index ? entry : p));
    });
  }, [more.data, filters]);

  const keys = useMemo(() => {
    const all = [...data.keys, ...pages.flatMap((page) => page.keys)];
    return all.map((key) => (changed[key.id] && changed[key.id]!.updatedAt >= key.updatedAt ? { ...key, ...changed[key.id]! } : key));
  }, [data.keys, pages, changed]);
  const nextCursor = pages.length > 0 ? pages[pages.length - 1]!.nextCursor : data.nextCursor;
  const filtered = FILTER_PARAMS.some((name) => name !== "order" && params.get(name) && params.get(name) !== "all");
  const onChange = useMemo(() => (key: ApiKeyView) => setChanged((current) => ({ ...current, [key.id]: key })), []);

  const loadMore = () => {
    if (!nextCursor) return;
    const next = new URLSearchParams(params);
    next.set("cursor", nextCursor);
    more.load(`/keys?index&${next.toString()}`);
  };

  return (
    <>
      <PageHeader
        title="API keys"
        description={data.isAdmin ? "Every key in this Keyward instance. Keys are shown by their first and last characters only." : "Your keys. Keys are shown by their first and last characters only."}
        actions={
          <Button asChild>
            <Link to="/keys/new">
              <Plus /> Create key
            </Link>
          </Button>
        }
      />
      <div className="space-y-4">
        <Filters owners={data.owners} />
        {keys.length === 0 ? (
          <EmptyState filtered={filtered || Boolean(data.cursor)} />
        ) : (
          <Card className={cn("overflow-hidden transition-opacity", navigation.state === "loading" && navigation.location?.pathname === "/keys" && "opacity-60")}>
            <KeysTable keys={keys} isAdmin={data.isAdmin} now={data.now} onChange={onChange} />
          </Card>
        )}
        {nextCursor ? (
          <div className="flex justify-center">
            <Button variant="outline" onClick={loadMore} disabled={more.state !== "idle"}>
              {more.state !== "idle" ? <Loader2 className="animate-spin" aria-hidden /> : null}
              Load more
            </Button>
          </div>
        ) : keys.length > PAGE_SIZE ? (
          <p className="text-center text-xs text-muted-foreground">All {keys.length} keys shown</p>
        ) : null}
      </div>
    </>
  );
}

export function ErrorBoundary() {
  return <RouteErrorBoundary />;
}
