import type { ReactNode } from "react";
import { RelativeTime } from "~/components/relative-time";
import { Card, CardContent } from "~/components/ui/card";
import { cn } from "~/lib/utils";
import { numberFormat } from "./format";
import { GRANULARITY } from "~/lib/chart-period";
import type { KeyView, LoaderData } from "./route";

function Stat({ label, value, hint, tone }: { label: string; value: ReactNode; hint?: ReactNode; tone?: "danger" | "warning" }) {
  return (
    <Card>
      <CardContent className="p-4">
        <p className="text-xs font-medium text-muted-foreground">{label}</p>
        <p className={cn("mt-1 text-xl font-semibold tabular-nums", tone === "danger" && "text-destructive", tone === "warning" && "text-warning")}>{value}</p>
        {hint ? <p className="mt-0.5 truncate text-xs text-muted-foreground">{hint}</p> : null}
      </CardContent>
    </Card>
  );
}

/** The key's request totals over the chart's period, and when it was last used. */
export function Totals({ apiKey, usage, granularity, now }: { apiKey: KeyView; usage: LoaderData["usage"]; granularity: LoaderData["granularity"]; now: string }) {
  return (
    <section aria-label="Totals" className="grid grid-cols-2 gap-4 lg:grid-cols-4">
      <Stat label={`Requests · ${GRANULARITY[granularity].label.toLowerCase()}`} value={numberFormat.format(usage.totals.requests)} hint={`${numberFormat.format(apiKey.requestCount)} all time`} />
      <Stat label="Denied" value={numberFormat.format(usage.totals.denied)} tone={usage.totals.denied > 0 ? "danger" : undefined} hint="401/403 responses" />
      <Stat label="Rate limited" value={numberFormat.format(usage.totals.rateLimited)} tone={usage.totals.rateLimited > 0 ? "warning" : undefined} hint="429 responses" />
      <Stat label="Last used" value={<RelativeTime iso={usage.lastUsedAt} now={now} fallback="Never" />} hint={usage.lastUsedIp ? <span className="font-mono" data-testid="last-used-ip">from {usage.lastUsedIp}</span> : "No requests yet"} />
    </section>
  );
}
