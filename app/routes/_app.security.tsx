import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction, type SerializeFrom } from "@remix-run/node";
import { Link, useFetcher, useLoaderData, useNavigation } from "@remix-run/react";
import { BellRing, Check, CheckCheck, Loader2, ShieldCheck } from "lucide-react";
import { useState } from "react";
import { z } from "zod";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { FilterBar, FilterSelect, FilterText, rangeStart, TimeRangeSelect, useTypedFilter, useUrlFilters } from "~/components/filter-bar";
import { PageHeader } from "~/components/page-header";
import { Pager } from "~/components/pager";
import { RelativeTime } from "~/components/relative-time";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { SelectItem } from "~/components/ui/select";
import { Switch } from "~/components/ui/switch";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { describeFailure } from "~/lib/action-errors.server";
import { useActionToast, type ActionToastOptions } from "~/lib/use-action-toast";
import { cn } from "~/lib/utils";
import { requireAdmin } from "~/session.server";
import { alertIdSchema, alertRuleIdSchema, type AlertRuleView, type AlertView, type SecurityEventView } from "~/services/alerts.server";
import { SECURITY_EVENT_KINDS } from "~/services/security-events.server";
import { readForm } from "~/lib/request.server";
import { pageCursorParam } from "~/lib/cursor";

export const meta: MetaFunction = () => [{ title: "Security · Keyward" }];

const SEVERITY_FILTERS = ["all", "critical", "warning", "info"] as const;
const KEY_ID = /^key_[0-9A-Za-z]{20}$/;
const RANGES = [
  { value: "24h", label: "Last 24 hours", ms: 86_400_000 },
  { value: "7d", label: "Last 7 days", ms: 7 * 86_400_000 },
  { value: "30d", label: "Last 30 days", ms: 30 * 86_400_000 },
  { value: "any", label: "Any time", ms: null },
] as const;
type Range = (typeof RANGES)[number]["value"];

/** Built on demand: its parts come from server modules, which the browser bundle does not get. */
const filterParams = () =>
  z.object({
    kind: z.enum(SECURITY_EVENT_KINDS).optional().catch(undefined),
    severity: z.enum(SEVERITY_FILTERS).catch("all"),
    key: z.string().trim().regex(KEY_ID).optional().catch(undefined),
    range: z.enum(RANGES.map((r) => r.value) as [Range, ...Range[]]).catch("7d"),
    cursor: pageCursorParam("string"),
  });

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller } = await requireAdmin(request, context);
  const params = filterParams().parse(Object.fromEntries(new URL(request.url).searchParams));
  const now = context.keyward.clock.now();
  const [alerts, events, rules] = await Promise.all([
    caller.security.alerts({ status: "unresolved", limit: 50 }),
    caller.security.events({
      kind: params.kind,
      severity: params.severity === "all" ? undefined : params.severity,
      keyId: params.key,
      from: rangeStart(RANGES, params.range, now),
      cursor: params.cursor,
      limit: 50,
    }),
    caller.security.rules(),
  ]);
  // The kinds travel with the data: the list lives in a server module the browser bundle does not get.
  return json({
    alerts: alerts.data,
    events: events.data,
    nextCursor: events.nextCursor,
    paged: Boolean(params.cursor),
    rules,
    kinds: SECURITY_EVENT_KINDS,
    now: now.toISOString(),
  });
}

const securityAction = () =>
  z.discriminatedUnion("intent", [
    z.object({ intent: z.enum(["ack", "resolve"]), id: alertIdSchema }),
    z.object({
      intent: z.literal("rule"),
      id: alertRuleIdSchema,
      enabled: z.enum(["on", "off"]),
      threshold: z.coerce.number({ error: "Enter a number" }).int("Whole numbers only").min(1, "At least 1").max(1_000_000),
      windowMinutes: z.coerce
        .number({ error: "Enter a number" })
        .int("Whole minutes only")
        .min(1, "At least 1 minute")
        .max(7 * 24 * 60, "At most 7 days"),
    }),
  ]);

export async function action({ request, context }: ActionFunctionArgs) {
  const { caller } = await requireAdmin(request, context);
  const parsed = securityAction().safeParse(Object.fromEntries(await readForm(request)));
  if (!parsed.success) {
    return json(
      {
        ok: false as const,
        error: parsed.error.issues[0]?.message ?? "That request was not understood. Reload the page and try again.",
      },
      { status: 400 }
    );
  }
  const input = parsed.data;
  try {
    if (input.intent === "rule") {
      const rule = await caller.security.updateRule({
        id: input.id,
        patch: {
          enabled: input.enabled === "on",
          threshold: input.threshold,
          windowSeconds: input.windowMinutes * 60,
        },
      });
      return json({ ok: true as const, message: `Saved “${rule.name}”` });
    }
    const alert = input.intent === "ack" ? await caller.security.ack({ id: input.id }) : await caller.security.resolve({ id: input.id });
    return json({
      ok: true as const,
      message: `${input.intent === "ack" ? "Acknowledged" : "Resolved"} “${alert.ruleName}”`,
    });
  } catch (error) {
    const failure = describeFailure(error);
    return json({ ok: false as const, error: failure.error }, { status: failure.status });
  }
}

/** Each answer told in a toast. */
const outcomeToast: ActionToastOptions<SerializeFrom<typeof action>> = { success: (data) => data.message, error: (data) => data.error };

const SEVERITY_STYLES: Record<string, string> = {
  critical: "border-transparent bg-destructive text-destructive-foreground",
  warning: "border-transparent bg-amber-500/15 text-amber-700 dark:text-amber-400",
  info: "border-transparent bg-muted text-muted-foreground",
};

function SeverityBadge({ severity }: { severity: string }) {
  return <Badge className={cn("capitalize", SEVERITY_STYLES[severity])}>{severity}</Badge>;
}

const humanKind = (kind: string) => kind.replaceAll("_", " ");
const severityLabel = (severity: string) => (severity === "all" ? "Any severity" : severity[0]!.toUpperCase() + severity.slice(1));

export default function Security() {
  const data = useLoaderData<typeof loader>();
  return (
    <>
      <PageHeader
        title="Security"
        description="Alerts raised by the rules below, and every security event: refused keys, keys sent in URLs, denied addresses, rate limits, sign-in failures."
      />
      <div className="space-y-6">
        <AlertsCard alerts={data.alerts} now={data.now} />
        <EventsCard kinds={data.kinds} events={data.events} nextCursor={data.nextCursor} paged={data.paged} now={data.now} />
        <RulesCard rules={data.rules} />
      </div>
    </>
  );
}

function AlertsCard({ alerts, now }: { alerts: AlertView[]; now: string }) {
  // One fetcher for every row: a resolved alert's row leaves the page, and its outcome must still be told.
  const fetcher = useFetcher<typeof action>();
  useActionToast(fetcher, outcomeToast);
  return (
    <Card>
      <CardHeader className="flex-row items-start justify-between space-y-0">
        <div className="space-y-1.5">
          <CardTitle className="flex items-center gap-2 text-base">
            <BellRing className="h-4 w-4" aria-hidden /> Open alerts
            {alerts.length > 0 ? <Badge variant="secondary">{alerts.length}</Badge> : null}
          </CardTitle>
          <CardDescription>
            Acknowledge an alert to say someone is on it; resolve it when it is dealt with. A rule that fires again reopens a resolved alert as a new one.
          </CardDescription>
        </div>
      </CardHeader>
      <CardContent className="p-0">
        {alerts.length === 0 ? (
          <div className="flex flex-col items-center gap-2 border-t px-6 py-10 text-center">
            <ShieldCheck className="h-8 w-8 text-emerald-600 dark:text-emerald-400" aria-hidden />
            <p className="font-medium">No open alerts</p>
            <p className="max-w-sm text-sm text-muted-foreground">When a rule fires, its alert appears here at once, and on every open dashboard.</p>
          </div>
        ) : (
          <ul className="divide-y border-t">
            {alerts.map((alert) => (
              <AlertRow key={alert.id} alert={alert} now={now} fetcher={fetcher} />
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}

function AlertRow({ alert, now, fetcher }: { alert: AlertView; now: string; fetcher: ReturnType<typeof useFetcher<typeof action>> }) {
  const pendingIntent = fetcher.state !== "idle" && fetcher.formData?.get("id") === alert.id ? fetcher.formData.get("intent") : null;
  return (
    <li className="flex flex-col gap-3 px-6 py-4 sm:flex-row sm:items-center sm:justify-between" data-alert={alert.ruleId}>
      <div className="min-w-0 space-y-1">
        <div className="flex flex-wrap items-center gap-2">
          <SeverityBadge severity={alert.severity} />
          <span className="font-medium">{alert.ruleName}</span>
          {alert.status === "acknowledged" ? <Badge variant="outline">Acknowledged</Badge> : null}
        </div>
        <p className="text-sm text-muted-foreground">
          {alert.subjectType === "key" ? (
            <>
              Key{" "}
              <Link to={`/keys/${alert.subject}`} className="font-mono text-xs text-foreground hover:underline">
                {alert.subject}
              </Link>
            </>
          ) : (
            <>
              Address <span className="font-mono text-xs text-foreground">{alert.subject}</span>
            </>
          )}
          {" · "}fired {alert.count} {alert.count === 1 ? "time" : "times"}, first <RelativeTime iso={alert.firstFiredAt} now={now} />, last{" "}
          <RelativeTime iso={alert.lastFiredAt} now={now} />
          {alert.ackedAt ? (
            <>
              {" · "}acknowledged <RelativeTime iso={alert.ackedAt} now={now} />
            </>
          ) : null}
        </p>
      </div>
      <fetcher.Form method="post" className="flex shrink-0 gap-2">
        <input type="hidden" name="id" value={alert.id} />
        {alert.status === "open" ? (
          <Button type="submit" name="intent" value="ack" variant="outline" size="sm" disabled={Boolean(pendingIntent)}>
            {pendingIntent === "ack" ? <Loader2 className="animate-spin" aria-hidden /> : <Check aria-hidden />} Acknowledge
          </Button>
        ) : null}
        <Button type="submit" name="intent" value="resolve" size="sm" disabled={Boolean(pendingIntent)}>
          {pendingIntent === "resolve" ? <Loader2 className="animate-spin" aria-hidden /> : <CheckCheck aria-hidden />} Resolve
        </Button>
      </fetcher.Form>
    </li>
  );
}

/** What each filter is when the URL does not name it, as the loader reads it. */
const FILTER_DEFAULTS = { kind: "all", severity: "all", key: "", range: "7d" };

function EventFilters({ kinds }: { kinds: readonly string[] }) {
  const filters = useUrlFilters("/security", FILTER_DEFAULTS);
  const [key, setKey] = useTypedFilter(filters, "key", { delayMs: 300, accepts: (value) => KEY_ID.test(value) });
  const kind = filters.value("kind");
  // What the loader applied: a value it does not know (`?severity=`) reads as "all", as it does there.
  const severity = SEVERITY_FILTERS.find((name) => name === filters.value("severity")) ?? "all";
  const keyInvalid = key.trim() !== "" && !KEY_ID.test(key.trim());

  return (
    <FilterBar filters={filters} onReset={() => setKey("")} className="lg:items-start">
      <FilterSelect filters={filters} name="kind" id="event-kind" label="Filter by kind" display={kind === "all" ? "All kinds" : humanKind(kind)} className="lg:w-56">
        <SelectItem value="all">All kinds</SelectItem>
        {kinds.map((name) => (
          <SelectItem key={name} value={name}>
            {humanKind(name)}
          </SelectItem>
        ))}
      </FilterSelect>
      <FilterSelect filters={filters} name="severity" id="event-severity" label="Filter by severity" display={severityLabel(severity)} className="lg:w-40">
        {SEVERITY_FILTERS.map((name) => (
          <SelectItem key={name} value={name}>
            {severityLabel(name)}
          </SelectItem>
        ))}
      </FilterSelect>
      <FilterText
        id="event-key"
        label="Filter by key id"
        value={key}
        onChange={setKey}
        placeholder="Key id (key_…)"
        error={keyInvalid ? "A key id is key_ followed by 20 letters or digits." : null}
        className="lg:w-72"
      />
      <TimeRangeSelect filters={filters} id="event-range" ranges={RANGES} />
    </FilterBar>
  );
}

function EventsCard({
  kinds,
  events,
  nextCursor,
  paged,
  now,
}: {
  kinds: readonly string[];
  events: SecurityEventView[];
  nextCursor: string | null;
  paged: boolean;
  now: string;
}) {
  const navigation = useNavigation();
  return (
    <Card>
      <CardHeader className="space-y-4">
        <div className="space-y-1.5">
          <CardTitle className="text-base">Events</CardTitle>
          <CardDescription>Frequent kinds are counted per minute, key and address, so a flood is one row with a count.</CardDescription>
        </div>
        <EventFilters kinds={kinds} />
      </CardHeader>
      <CardContent className={cn("p-0 transition-opacity", navigation.state === "loading" && navigation.location?.pathname === "/security" && "opacity-60")}>
        {events.length === 0 ? (
          <p className="border-t px-6 py-10 text-center text-sm text-muted-foreground">
            No security events in this range. Refused keys, denied addresses and failed sign-ins show up here.
          </p>
        ) : (
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead className="w-32 pl-6">When</TableHead>
                <TableHead>Kind</TableHead>
                <TableHead>Severity</TableHead>
                <TableHead className="text-right">Count</TableHead>
                <TableHead>Key</TableHead>
                <TableHead className="hidden md:table-cell">Address</TableHead>
                <TableHead className="hidden lg:table-cell">Details</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {events.map((event) => (
                <TableRow key={event.id} data-kind={event.kind}>
                  <TableCell className="pl-6 text-sm">
                    <RelativeTime iso={event.lastSeen} now={now} />
                  </TableCell>
                  <TableCell className="text-sm font-medium">{humanKind(event.kind)}</TableCell>
                  <TableCell>
                    <SeverityBadge severity={event.severity} />
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{event.count.toLocaleString("en")}</TableCell>
                  <TableCell>
                    {event.keyId ? (
                      <Link to={`/keys/${event.keyId}`} className="font-mono text-xs hover:underline">
                        {event.keyId}
                      </Link>
                    ) : (
                      <span className="text-muted-foreground">—</span>
                    )}
                  </TableCell>
                  <TableCell className="hidden font-mono text-xs md:table-cell">{event.clientIp ?? "—"}</TableCell>
                  <TableCell className="hidden max-w-xs truncate text-xs text-muted-foreground lg:table-cell" title={JSON.stringify(event.details)}>
                    {Object.keys(event.details).length
                      ? Object.entries(event.details)
                          .map(([name, value]) => `${name}: ${typeof value === "object" ? JSON.stringify(value) : String(value)}`)
                          .join(" · ")
                      : "—"}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
        {paged || nextCursor ? (
          <Pager pathname="/security" nextCursor={nextCursor} paged={paged} olderLabel="Older events" olderKeepsScroll className="border-t px-6 py-3" />
        ) : null}
      </CardContent>
    </Card>
  );
}

function RulesCard({ rules }: { rules: AlertRuleView[] }) {
  return (
    <Card>
      <CardHeader>
        <CardTitle className="text-base">Alert rules</CardTitle>
        <CardDescription>
          When a rule’s threshold is reached within its window, an alert opens (and is sent to KEYWARD_ALERT_WEBHOOK_URL when set). Changes are recorded in the audit
          log.
        </CardDescription>
      </CardHeader>
      <CardContent className="p-0">
        <ul className="divide-y border-t">
          {rules.map((rule) => (
            <RuleRow key={rule.id} rule={rule} />
          ))}
        </ul>
      </CardContent>
    </Card>
  );
}

function RuleRow({ rule }: { rule: AlertRuleView }) {
  const fetcher = useFetcher<typeof action>();
  useActionToast(fetcher, outcomeToast);
  const [enabled, setEnabled] = useState(rule.enabled);
  const unit = rule.measure === "minutes" ? "minutes with events" : "events";
  return (
    <li className="px-6 py-4">
      <fetcher.Form method="post" className="flex flex-col gap-3 lg:flex-row lg:items-center lg:justify-between" aria-label={rule.name}>
        <input type="hidden" name="intent" value="rule" />
        <input type="hidden" name="id" value={rule.id} />
        <input type="hidden" name="enabled" value={enabled ? "on" : "off"} />
        <div className="flex min-w-0 items-start gap-3">
          <Switch id={`rule-${rule.id}`} checked={enabled} onCheckedChange={setEnabled} aria-label={`Enable “${rule.name}”`} className="mt-0.5" />
          <div className="min-w-0 space-y-1">
            <Label htmlFor={`rule-${rule.id}`} className="flex flex-wrap items-center gap-2 font-medium">
              {rule.name} <SeverityBadge severity={rule.severity} />
            </Label>
            <p className="text-sm text-muted-foreground">{rule.description}</p>
          </div>
        </div>
        <div className="flex shrink-0 flex-wrap items-end gap-2">
          <div className="space-y-1">
            <Label htmlFor={`threshold-${rule.id}`} className="text-xs text-muted-foreground">
              At least ({unit})
            </Label>
            <Input id={`threshold-${rule.id}`} name="threshold" type="number" min={1} defaultValue={rule.threshold} className="h-8 w-24" required />
          </div>
          <div className="space-y-1">
            <Label htmlFor={`window-${rule.id}`} className="text-xs text-muted-foreground">
              Within (minutes)
            </Label>
            <Input
              id={`window-${rule.id}`}
              name="windowMinutes"
              type="number"
              min={1}
              defaultValue={Math.round(rule.windowSeconds / 60)}
              className="h-8 w-24"
              required
            />
          </div>
          <Button type="submit" size="sm" variant="outline" disabled={fetcher.state !== "idle"}>
            {fetcher.state !== "idle" ? <Loader2 className="animate-spin" aria-hidden /> : null} Save
          </Button>
        </div>
      </fetcher.Form>
    </li>
  );
}

export function ErrorBoundary() {
  return <RouteErrorBoundary />;
}
