import { Link, useSearchParams } from "@remix-run/react";
import { ChartLegend, UsageChart } from "~/components/usage-chart";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { cn } from "~/lib/utils";
import { GRANULARITY, type Granularity } from "~/lib/chart-period";
import type { LoaderData } from "./route";

function GranularitySwitch({ value }: { value: Granularity }) {
  const [search] = useSearchParams();
  return (
    <div role="group" aria-label="Chart period" className="inline-flex h-8 items-center rounded-lg bg-muted p-1 text-muted-foreground">
      {(Object.keys(GRANULARITY) as Granularity[]).map((g) => {
        const next = new URLSearchParams(search);
        next.set("g", g);
        return (
          <Link
            key={g}
            to={`?${next.toString()}`}
            replace
            preventScrollReset
            aria-current={g === value ? "true" : undefined}
            className={cn("inline-flex h-6 items-center rounded-md px-2.5 text-xs font-medium", g === value ? "bg-background text-foreground shadow" : "hover:text-foreground")}
          >
            {g === "minute" ? "Hour" : g === "hour" ? "Day" : "Month"}
          </Link>
        );
      })}
    </div>
  );
}

/** The chart of the key's requests by outcome, over the period the page's `g` parameter picks. */
export function UsagePanel({ keyName, usage, granularity }: { keyName: string; usage: LoaderData["usage"]; granularity: Granularity }) {
  return (
    <Card>
      <CardHeader className="flex flex-col gap-3 space-y-0 sm:flex-row sm:items-start sm:justify-between">
        <div className="space-y-1.5">
          <CardTitle>Usage</CardTitle>
          <CardDescription>Requests per {granularity}, by outcome.</CardDescription>
        </div>
        <GranularitySwitch value={granularity} />
      </CardHeader>
      <CardContent className="space-y-3 px-2 sm:px-6">
        <UsageChart points={usage.points} bucket={granularity} label={`Requests with ${keyName}, ${GRANULARITY[granularity].label.toLowerCase()}`} className="h-56" />
        <ChartLegend className="px-4 sm:px-0" />
      </CardContent>
    </Card>
  );
}
