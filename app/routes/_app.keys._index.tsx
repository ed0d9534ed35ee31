import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useFetcher, useLoaderData, useNavigate, useNavigation, useSearchParams } from "@remix-run/react";
import { KeyRound, Loader2, Plus, Search, X } from "lucide-react";
import { useEffect, useMemo, useState } from "react";
import { z } from "zod";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { PageHeader } from "~/components/page-header";
import { Button } from "~/components/ui/button";
import { Card } from "~/components/ui/card";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { describeFailure } from "~/lib/action-errors.server";
import { apiIdSchema, KEY_KINDS, KEY_LIST_ORDERS, keyIdSchema, keyStatusFilterSchema, listKeysInput, userIdSchema } from "~/lib/key-schemas";
import { cn } from "~/lib/utils";
import { readForm } from "~/lib/request.server";
import { requireUser } from "~/session.server";
import type { ApiKeyView } from "~/services/keys.server";
import { pageCursorParam } from "~/lib/cursor";
import { describeKeyRows } from "~/lib/key-rows.server";
import { KeysTable, type KeyRow } from "~/components/keys-table";

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
const KIND_FILTERS = [
  { value: "all", label: "Every kind" },
  { value: "root", label: "Root keys" },
  { value: "issued", label: "Issued keys" },
] as const;
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
  kind: z.enum(KEY_KINDS).optional().catch(undefined),
  apiId: apiIdSchema.optional().catch(undefined),
  cursor: pageCursorParam("string"),
});

/** The URL parameters that choose which keys are listed (the cursor only pages through them). */
const FILTER_PARAMS = ["q", "status", "scope", "owner", "order", "kind", "apiId"] as const;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller, user, actor } = await requireUser(request, context);
  const url = new URL(request.url);
  const { q, status, scope, owner, order, kind, apiId, cursor } = listParams.parse(Object.fromEntries(url.searchParams));
  const isAdmin = user.role === "admin";
  const [page, owners, apis] = await Promise.all([
    caller.keys.list({ q: q || undefined, status, scope: scope === "all" ? undefined : scope, ownerId: isAdmin ? owner : undefined, order, kind, apiId, cursor, limit: PAGE_SIZE }),
    isAdmin ? caller.users.list() : Promise.resolve([]),
    // Deleted APIs too: their revoked keys are still listed.
    context.keyward.apis.names(actor, { limit: 100, includeArchived: true }),
  ]);
  const emails = new Map(owners.map((owner) => [owner.id, owner.email]));
  const rows = await describeKeyRows(context.keyward, actor, page.data);
  return json({
    keys: page.data.map((key) => ({ ...key, ownerEmail: emails.get(key.ownerId) ?? null, ...rows.get(key.id)! })),
    nextCursor: page.nextCursor,
    cursor: cursor ?? null,
    filters: filterKey(url.searchParams),
    owners: owners.map((o) => ({ id: o.id, email: o.email })),
    apis,
    isAdmin,
    now: context.keyward.clock.now().toISOString(),
  });
}

/** Identifies a filter combination, so a page loaded for other filters is never appended. */
function filterKey(params: URLSearchParams): string {
  return JSON.stringify(FILTER_PARAMS.map((name) => params.get(name)?.trim() ?? ""));
}

const keyAction = z.object({ intent: z.enum(["disable", "enable", "revoke"]), id: keyIdSchema });
export type KeyRowIntent = z.infer<typeof keyAction>["intent"];

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
            <p className="text-sm text-muted-foreground">Try another name, status, kind or API.</p>
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

function Filters({ owners, apis }: { owners: { id: string; email: string }[]; apis: { id: string; name: string }[] }) {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [q, setQ] = useState(params.get("q") ?? "");
  const status = params.get("status") ?? "all";
  const scope = params.get("scope") ?? "all";
  const owner = params.get("owner") ?? "all";
  const order = params.get("order") ?? "newest";
  const kind = params.get("kind") ?? "all";
  const apiId = params.get("apiId") ?? "all";

  // Follow the URL (back button, "Clear filters"), except while the user is typing in the box.
  useEffect(() => {
    if (document.activeElement?.id !== "key-search") setQ(params.get("q") ?? "");
  }, [params]);

  const apply = (next: { q?: string; status?: string; scope?: string; owner?: string; order?: string; kind?: string; apiId?: string }) => {
    const search = new URLSearchParams();
    const text = (next.q ?? q).trim();
    const chosen = { status: next.status ?? status, scope: next.scope ?? scope, owner: next.owner ?? owner, order: next.order ?? order, kind: next.kind ?? kind, apiId: next.apiId ?? apiId };
    // Root keys belong to no API: choosing one of the two lets go of the other.
    if (next.apiId && next.apiId !== "all" && chosen.kind === "root") chosen.kind = "all";
    if (next.kind === "root") chosen.apiId = "all";
    if (text) search.set("q", text);
    if (chosen.status !== "all") search.set("status", chosen.status);
    if (chosen.scope !== "all") search.set("scope", chosen.scope);
    if (chosen.owner !== "all") search.set("owner", chosen.owner);
    if (chosen.order !== "newest") search.set("order", chosen.order);
    if (chosen.kind !== "all") search.set("kind", chosen.kind);
    if (chosen.apiId !== "all") search.set("apiId", chosen.apiId);
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
        <Label htmlFor="key-kind" className="sr-only">
          Filter by kind
        </Label>
        <Select value={kind} onValueChange={(value) => apply({ kind: value })}>
          <SelectTrigger id="key-kind" aria-label="Filter by kind">
            <SelectValue>{KIND_FILTERS.find((filter) => filter.value === kind)?.label ?? "Every kind"}</SelectValue>
          </SelectTrigger>
          <SelectContent>
            {KIND_FILTERS.map((filter) => (
              <SelectItem key={filter.value} value={filter.value}>
                {filter.label}
              </SelectItem>
            ))}
          </SelectContent>
        </Select>
      </div>
      {apis.length > 0 ? (
        <div className="w-full sm:w-48">
          <Label htmlFor="key-api" className="sr-only">
            Filter by API
          </Label>
          <Select value={apiId} onValueChange={(value) => apply({ apiId: value })}>
            <SelectTrigger id="key-api" aria-label="Filter by API">
              <SelectValue>{apiId === "all" ? "Every API" : (apis.find((api) => api.id === apiId)?.name ?? apiId)}</SelectValue>
            </SelectTrigger>
            <SelectContent>
              <SelectItem value="all">Every API</SelectItem>
              {apis.map((api) => (
                <SelectItem key={api.id} value={api.id}>
                  {api.name}
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        </div>
      ) : null}
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
      {q || status !== "all" || scope !== "all" || owner !== "all" || order !== "newest" || kind !== "all" || apiId !== "all" ? (
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
        <Filters owners={data.owners} apis={data.apis} />
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
