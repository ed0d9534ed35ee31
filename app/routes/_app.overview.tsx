import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData, useNavigation, useSearchParams } from "@remix-run/react";
import { Activity, Ban, BellRing, CalendarClock, Gauge, KeyRound, Plus, ShieldAlert, TrendingUp } from "lucide-react";
import type { ReactNode } from "react";
import { z } from "zod";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { PageHeader } from "~/components/page-header";
import { RelativeTime } from "~/components/relative-time";
import { ChartLegend, UsageChart, type BucketSize } from "~/components/usage-chart";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { cn } from "~/lib/utils";
import type { OverviewRange } from "~/services/overview.server";
import { requireUser } from "~/session.server";

export const meta: MetaFunction = () => [{ title: "Overview · Keyward" }];

/** The service's ranges (a type import only: this list is needed in the browser bundle too). */
const OVERVIEW_RANGES = ["24h", "7d", "30d"] as const satisfies readonly OverviewRange[];

const params = z.object({ range: z.enum(OVERVIEW_RANGES).catch("24h") });

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller, user } = await requireUser(request, context);
  const { range } = params.parse(Object.fromEntries(new URL(request.url).searchParams));
  const [overview, openAlerts, security] = await Promise.all([caller.overview.get({ range }), caller.security.openAlertCount(), caller.security.events({ limit: 6 })]);
  return json({ overview, openAlerts, securityEvents: security.data, isAdmin: user.role === "admin" });
}

const RANGE_LABELS: Record<OverviewRange, { short: string; long: string; bucket: BucketSize }> = {
  "24h": { short: "24 h", long: "the last 24 hours", bucket: "hour" },
  "7d": { short: "7 days", long: "the last 7 days", bucket: "6h" },
  "30d": { short: "30 days", long: "the last 30 days", bucket: "day" },
};

const numberFormat = new Intl.NumberFormat("en");
const percent = (part: number, whole: number) => (whole === 0 ? "—" : `${((part / whole) * 100).toFixed(part / whole < 0.1 && part > 0 ? 1 : 0)}%`);

function RangeSwitch({ range }: { range: OverviewRange }) {
  const [search] = useSearchParams();
  return (
    <div role="group" aria-label="Time range" className="inline-flex h-9 items-center rounded-lg bg-muted p-1 text-muted-foreground">
      {OVERVIEW_RANGES.map((value) => {
        const next = new URLSearchParams(search);
        next.set("range", value);
        const current = value === range;
        return (
          <Link
            key={value}
            to={`?${next.toString()}`}
            replace
            preventScrollReset
            aria-current={current ? "true" : undefined}
            className={cn(
              "inline-flex h-7 items-center rounded-md px-3 text-sm font-medium transition-colors focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring",
              current ? "bg-background text-foreground shadow" : "hover:text-foreground",
            )}
          >
            {RANGE_LABELS[value].short}
          </Link>
        );
      })}
    </div>
  );
}

function StatCard({ title, value, hint, icon: Icon, tone, testId, className }: { title: string; value: string; hint: ReactNode; icon: typeof Activity; tone?: "danger" | "warning"; testId: string; className?: string }) {
  return (
    <Card data-testid={testId} className={className}>
      <CardHeader className="flex flex-row items-center justify-between space-y-0 p-4 pb-2 sm:p-6 sm:pb-2">
        <CardTitle className="truncate text-sm font-medium text-muted-foreground">{title}</CardTitle>
        <Icon className={cn("h-4 w-4 shrink-0 text-muted-foreground", tone === "danger" && "text-destructive", tone === "warning" && "text-warning")} aria-hidden />
      </CardHeader>
      <CardContent className="p-4 pt-0 sm:p-6 sm:pt-0">
        <p className="text-2xl font-semibold tabular-nums tracking-tight" data-value>
          {value}
        </p>
        <p className="mt-1 text-xs text-muted-foreground">{hint}</p>
      </CardContent>
    </Card>
  );
}

export default function OverviewPage() {
  const { overview, openAlerts, securityEvents, isAdmin } = useLoaderData<typeof loader>();
  const navigation = useNavigation();
  const label = RANGE_LABELS[overview.range];
  const { totals } = overview;
  const loading = navigation.state === "loading" && navigation.location?.pathname === "/overview";
  const topMax = Math.max(...overview.topKeys.map((key) => key.requests), 1);

  return (
    <>
      <PageHeader
        title="Overview"
        description={isAdmin ? "Every key in this Keyward instance, updated live." : "Your keys, updated live."}
        actions={
          <>
            <RangeSwitch range={overview.range} />
            <Button asChild className="hidden sm:inline-flex">
              <Link to="/keys/new">
                <Plus aria-hidden /> Create key
              </Link>
            </Button>
          </>
        }
      />
      <div className={cn("space-y-6 transition-opacity", loading && "opacity-60")}>
        <section aria-label="Totals" className="grid grid-cols-2 gap-3 sm:gap-4 lg:grid-cols-5">
          <StatCard
            testId="card-active-keys"
            title="Active keys"
            value={numberFormat.format(overview.keys.active)}
            hint={`of ${numberFormat.format(overview.keys.total)} ${overview.keys.total === 1 ? "key" : "keys"} in total`}
            icon={KeyRound}
          />
          <StatCard testId="card-requests" title={`Requests · ${label.short}`} value={numberFormat.format(totals.requests)} hint={`${percent(totals.success, totals.requests)} succeeded`} icon={Activity} />
          <StatCard
            testId="card-denied"
            title="Denied"
            value={numberFormat.format(totals.denied)}
            hint={`${percent(totals.denied, totals.requests)} of requests (401/403)`}
            icon={Ban}
            tone={totals.denied > 0 ? "danger" : undefined}
          />
          <StatCard
            testId="card-rate-limited"
            title="Rate limited"
            value={numberFormat.format(totals.rateLimited)}
            hint={`${percent(totals.rateLimited, totals.requests)} of requests (429)`}
            icon={Gauge}
            tone={totals.rateLimited > 0 ? "warning" : undefined}
          />
          <StatCard
            testId="card-open-alerts"
            className="col-span-2 lg:col-span-1"
            title="Open alerts"
            value={numberFormat.format(openAlerts)}
            hint={
              openAlerts === 0 ? (
                "Nothing needs attention"
              ) : isAdmin ? (
                <Link to="/security" className="underline underline-offset-4 hover:text-foreground">
                  Review on the Security page
                </Link>
              ) : (
                "Your admins have been told"
              )
            }
            icon={BellRing}
            tone={openAlerts > 0 ? "danger" : undefined}
          />
        </section>

        <Card>
          <CardHeader className="flex flex-col gap-3 space-y-0 sm:flex-row sm:items-start sm:justify-between">
            <div className="space-y-1.5">
              <CardTitle>Requests over time</CardTitle>
              <CardDescription>
                {numberFormat.format(totals.requests)} requests in {label.long}, by outcome.
              </CardDescription>
            </div>
            <ChartLegend />
          </CardHeader>
          <CardContent className="px-2 sm:px-6">
            <UsageChart points={overview.series} bucket={label.bucket} label={`Requests in ${label.long}`} />
          </CardContent>
        </Card>

        <div className="grid gap-6 lg:grid-cols-5">
          <Card className="lg:col-span-3">
            <CardHeader>
              <CardTitle className="flex items-center gap-2">
                <TrendingUp className="h-4 w-4 text-muted-foreground" aria-hidden /> Top keys
              </CardTitle>
              <CardDescription>By requests in {label.long}.</CardDescription>
            </CardHeader>
            <CardContent className="p-0">
              {overview.topKeys.length === 0 ? (
                <p className="px-6 pb-6 text-sm text-muted-foreground">No key has been used in {label.long}. Requests made with a key show up here within seconds.</p>
              ) : (
                <Table>
                  <TableHeader>
                    <TableRow className="hover:bg-transparent">
                      <TableHead className="pl-6">Key</TableHead>
                      <TableHead className="text-right">Requests</TableHead>
                      <TableHead className="hidden text-right sm:table-cell">Denied</TableHead>
                      <TableHead className="hidden pr-6 text-right sm:table-cell">Rate limited</TableHead>
                    </TableRow>
                  </TableHeader>
                  <TableBody>
                    {overview.topKeys.map((key) => (
                      <TableRow key={key.keyId}>
                        <TableCell className="max-w-[14rem] pl-6">
                          <Link to={`/keys/${key.keyId}`} className="block truncate font-medium hover:underline">
                            {key.name ?? key.keyId}
                          </Link>
                          <div className="mt-1.5 h-1.5 w-full overflow-hidden rounded-full bg-muted" aria-hidden>
                            <div className="h-full rounded-full bg-primary/70" style={{ width: `${Math.max((key.requests / topMax) * 100, 2)}%` }} />
                          </div>
                        </TableCell>
                        <TableCell className="text-right font-mono tabular-nums">{numberFormat.format(key.requests)}</TableCell>
                        <TableCell className={cn("hidden text-right font-mono tabular-nums sm:table-cell", key.denied > 0 && "text-destructive")}>{numberFormat.format(key.denied)}</TableCell>
                        <TableCell className={cn("hidden pr-6 text-right font-mono tabular-nums sm:table-cell", key.rateLimited > 0 && "text-warning")}>{numberFormat.format(key.rateLimited)}</TableCell>
                      </TableRow>
                    ))}
                  </TableBody>
                </Table>
              )}
            </CardContent>
          </Card>

          <Card className="lg:col-span-2">
            <CardHeader>
              <CardTitle className="flex items-center gap-2">
                <CalendarClock className="h-4 w-4 text-muted-foreground" aria-hidden /> Expiring within 7 days
              </CardTitle>
              <CardDescription>Rotate these before they stop working.</CardDescription>
            </CardHeader>
            <CardContent>
              {overview.expiringSoon.length === 0 ? (
                <p className="text-sm text-muted-foreground">No key expires in the next 7 days.</p>
              ) : (
                <ul className="divide-y">
                  {overview.expiringSoon.map((key) => (
                    <li key={key.id} className="flex items-center justify-between gap-3 py-2.5 first:pt-0 last:pb-0">
                      <Link to={`/keys/${key.id}`} className="min-w-0 truncate text-sm font-medium hover:underline">
                        {key.name}
                      </Link>
                      <span className="shrink-0 text-sm text-warning">
                        <RelativeTime iso={key.expiresAt} now={overview.now} />
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </CardContent>
          </Card>
        </div>

        <Card>
          <CardHeader className="flex flex-row items-start justify-between gap-3 space-y-0">
            <div className="space-y-1.5">
              <CardTitle className="flex items-center gap-2">
                <ShieldAlert className="h-4 w-4 text-muted-foreground" aria-hidden /> Latest security events
              </CardTitle>
              <CardDescription>Refused keys, addresses outside allowlists, keys sent in URLs, reveals.</CardDescription>
            </div>
            {isAdmin ? (
              <Button asChild variant="outline" size="sm">
                <Link to="/security">View all</Link>
              </Button>
            ) : null}
          </CardHeader>
          <CardContent className={securityEvents.length === 0 ? undefined : "p-0"}>
            {securityEvents.length === 0 ? (
              <p className="text-sm text-muted-foreground">No security events recorded. Refused requests and other suspicious activity show up here.</p>
            ) : (
              <Table data-testid="security-events">
                <TableHeader>
                  <TableRow className="hover:bg-transparent">
                    <TableHead className="pl-6">Event</TableHead>
                    <TableHead className="hidden md:table-cell">Key</TableHead>
                    <TableHead className="hidden sm:table-cell">Address</TableHead>
                    <TableHead className="pr-6 text-right">When</TableHead>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {securityEvents.map((event) => (
                    <TableRow key={event.id}>
                      <TableCell className="pl-6">
                        <div className="flex items-center gap-2">
                          <Badge variant={event.severity === "critical" ? "danger" : event.severity === "warning" ? "warning" : "muted"} className="capitalize">
                            {event.severity}
                          </Badge>
                          <span className="font-medium">{humanize(event.kind)}</span>
                          {event.count > 1 ? <span className="text-xs text-muted-foreground">×{numberFormat.format(event.count)}</span> : null}
                        </div>
                      </TableCell>
                      <TableCell className="hidden md:table-cell">
                        {event.keyId ? (
                          <Link to={`/keys/${event.keyId}`} className="font-mono text-xs hover:underline">
                            {event.keyId}
                          </Link>
                        ) : (
                          <span className="text-muted-foreground">—</span>
                        )}
                      </TableCell>
                      <TableCell className="hidden font-mono text-xs sm:table-cell">{event.clientIp ?? "—"}</TableCell>
                      <TableCell className="whitespace-nowrap pr-6 text-right">
                        <RelativeTime iso={event.lastSeen} now={overview.now} />
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            )}
          </CardContent>
        </Card>
      </div>
    </>
  );
}

/** `key_revoked` → "Key revoked". */
function humanize(kind: string): string {
  const text = kind.replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function ErrorBoundary() {
  return <RouteErrorBoundary />;
}
