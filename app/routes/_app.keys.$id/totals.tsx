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

/** Where the key was last used from; a verifying service need not pass its caller's address. */
function LastUsedHint({ usage, issued }: { usage: LoaderData["usage"]; issued: boolean }) {
  if (usage.lastUsedIp) return <span className="font-mono" data-testid="last-used-ip">from {usage.lastUsedIp}</span>;
  if (usage.lastUsedAt) return "No address given";
  return issued ? "No valid verification yet" : "No requests yet";
}

/**
 * The key's totals over the chart's period, and when it was last used: an issued key's
 * verifications (valid and refused), a root key's requests (denied and rate limited).
 */
export function Totals({ apiKey, usage, granularity, now }: { apiKey: KeyView; usage: LoaderData["usage"]; granularity: LoaderData["granularity"]; now: string }) {
  const period = GRANULARITY[granularity].label.toLowerCase();
  const verifications = usage.verifications?.totals;
  const valid = verifications?.outcomes.VALID ?? 0;
  return (
    <section aria-label="Totals" className="grid grid-cols-2 gap-4 lg:grid-cols-4">
      {verifications ? (
        <>
          <Stat label={`Verifications · ${period}`} value={numberFormat.format(verifications.total)} hint={`${numberFormat.format(apiKey.requestCount)} valid all time`} />
          <Stat label="Valid" value={numberFormat.format(valid)} hint="Answered VALID" />
          <Stat label="Refused" value={numberFormat.format(verifications.total - valid)} tone={verifications.total > valid ? "danger" : undefined} hint="Any other outcome" />
        </>
      ) : (
        <>
          <Stat label={`Requests · ${period}`} value={numberFormat.format(usage.totals.requests)} hint={`${numberFormat.format(apiKey.requestCount)} all time`} />
          <Stat label="Denied" value={numberFormat.format(usage.totals.denied)} tone={usage.totals.denied > 0 ? "danger" : undefined} hint="401/403 responses" />
          <Stat label="Rate limited" value={numberFormat.format(usage.totals.rateLimited)} tone={usage.totals.rateLimited > 0 ? "warning" : undefined} hint="429 responses" />
        </>
      )}
      <Stat label="Last used" value={<RelativeTime iso={usage.lastUsedAt} now={now} fallback="Never" />} hint={<LastUsedHint usage={usage} issued={verifications !== undefined} />} />
    </section>
  );
}
