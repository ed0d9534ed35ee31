import { PeriodSwitch } from "~/components/period-switch";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { ChartLegend, UsageChart } from "~/components/usage-chart";
import { VerificationChart } from "~/components/verification-chart";
import { GRANULARITY, type Granularity } from "~/lib/chart-period";
import type { LoaderData } from "./route";

/**
 * The chart of the key's use over the period the page's `g` parameter picks: an issued key's
 * verifications by outcome (what it is used for), a root key's requests to Keyward by outcome.
 */
export function UsagePanel({ keyName, usage, granularity }: { keyName: string; usage: LoaderData["usage"]; granularity: Granularity }) {
  const period = GRANULARITY[granularity].label.toLowerCase();
  return (
    <Card>
      <CardHeader className="flex flex-col gap-3 space-y-0 sm:flex-row sm:items-start sm:justify-between">
        <div className="space-y-1.5">
          <CardTitle>Usage</CardTitle>
          <CardDescription>{usage.verifications ? `Verifications per ${granularity}, by outcome.` : `Requests per ${granularity}, by outcome.`}</CardDescription>
        </div>
        <PeriodSwitch value={granularity} />
      </CardHeader>
      <CardContent className="space-y-3 px-2 sm:px-6">
        {usage.verifications ? (
          <VerificationChart
            usage={usage.verifications}
            bucket={granularity}
            label={`Verifications of ${keyName}, ${period}`}
            empty="No verifications in this period. Each check of this key through POST /api/v1/verify or the SDK shows here within seconds."
            className="h-56"
          />
        ) : (
          <>
            <UsageChart points={usage.points} bucket={granularity} label={`Requests with ${keyName}, ${period}`} className="h-56" />
            <ChartLegend className="px-4 sm:px-0" />
          </>
        )}
      </CardContent>
    </Card>
  );
}
