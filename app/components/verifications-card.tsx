import type { ReactNode } from "react";
import { GRANULARITY, type Granularity } from "~/lib/chart-period";
import { cn } from "~/lib/utils";
import { PeriodSwitch } from "./period-switch";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "./ui/card";
import { numberFormat } from "./usage-chart";
import { VerificationChart, type VerificationUsageView } from "./verification-chart";

function Figure({ label, value, tone }: { label: string; value: number; tone?: "success" | "danger" }) {
  return (
    <div className="min-w-0">
      <dt className="truncate text-xs font-medium text-muted-foreground">{label}</dt>
      <dd className={cn("text-xl font-semibold tabular-nums", tone === "success" && value > 0 && "text-success", tone === "danger" && value > 0 && "text-destructive")}>{numberFormat.format(value)}</dd>
    </div>
  );
}

/**
 * Verifications over the period the page's `?g=` picks: totals (all, valid, refused), the chart
 * stacked by outcome, and whatever the page adds below (an API's top keys).
 */
export function VerificationsCard({
  usage,
  granularity,
  label,
  description,
  empty,
  children,
}: {
  usage: VerificationUsageView;
  granularity: Granularity;
  /** Whose verifications, for the chart's text alternative, e.g. "Verifications of Orders API". */
  label: string;
  description: string;
  empty: string;
  children?: ReactNode;
}) {
  const period = GRANULARITY[granularity].label;
  const valid = usage.totals.outcomes.VALID ?? 0;
  return (
    <Card data-testid="verifications">
      <CardHeader className="flex flex-col gap-3 space-y-0 sm:flex-row sm:items-start sm:justify-between">
        <div className="space-y-1.5">
          <CardTitle>Verifications</CardTitle>
          <CardDescription>{description}</CardDescription>
        </div>
        <PeriodSwitch value={granularity} />
      </CardHeader>
      <CardContent className="space-y-5 px-2 sm:px-6">
        <dl aria-label={`Totals, ${period.toLowerCase()}`} className="grid grid-cols-3 gap-4 px-4 sm:px-0">
          <Figure label={period} value={usage.totals.total} />
          <Figure label="Valid" value={valid} tone="success" />
          <Figure label="Refused" value={usage.totals.total - valid} tone="danger" />
        </dl>
        <VerificationChart usage={usage} bucket={granularity} label={`${label}, ${period.toLowerCase()}`} empty={empty} className="h-56" />
        {children}
      </CardContent>
    </Card>
  );
}
