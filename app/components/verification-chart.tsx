import { useEffect, useState } from "react";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis, type TooltipProps } from "recharts";
import { cn } from "~/lib/utils";
import { numberFormat, tickFormatter, tooltipTitle, type BucketSize } from "./usage-chart";

/** Verifications by outcome code, as the usage reads return them (every recorded outcome, zeros included). */
export type OutcomeCounts = Record<string, number>;

export interface VerificationUsageView {
  points: readonly { at: string; total: number; outcomes: OutcomeCounts }[];
  totals: { total: number; outcomes: OutcomeCounts };
}

/**
 * How each outcome is drawn, in stacking order: VALID at the bottom, then the refusals. The colours
 * keep a middle lightness so they read on both themes; the theme's own success, warning and
 * destructive stand for valid, rate limited and revoked as elsewhere in the dashboard.
 */
const OUTCOMES: Record<string, { label: string; color: string }> = {
  VALID: { label: "Valid", color: "hsl(var(--success))" },
  REVOKED: { label: "Revoked", color: "hsl(var(--destructive))" },
  EXPIRED: { label: "Expired", color: "hsl(280 55% 58%)" },
  DISABLED: { label: "Disabled", color: "hsl(var(--muted-foreground))" },
  RATE_LIMITED: { label: "Rate limited", color: "hsl(var(--warning))" },
  USAGE_EXCEEDED: { label: "Usage exceeded", color: "hsl(20 85% 52%)" },
  INSUFFICIENT_PERMISSIONS: { label: "Insufficient permissions", color: "hsl(205 80% 52%)" },
  IP_NOT_ALLOWED: { label: "IP not allowed", color: "hsl(330 70% 58%)" },
  WRONG_API: { label: "Wrong API", color: "hsl(175 60% 40%)" },
};
const KNOWN = Object.keys(OUTCOMES);
/** A code this page does not know yet still gets drawn, in a neutral colour. */
const UNKNOWN_COLOR = "hsl(240 5% 50%)";

export interface OutcomeSeries {
  code: string;
  label: string;
  color: string;
  total: number;
}

export const outcomeLabel = (code: string) => OUTCOMES[code]?.label ?? code;

/** The outcomes worth drawing: VALID always, each refusal only when it happened (nine empty series would crowd the legend). */
export function outcomeSeries(totals: OutcomeCounts): OutcomeSeries[] {
  const codes = [...KNOWN, ...Object.keys(totals).filter((code) => !KNOWN.includes(code)).sort()];
  return codes
    .filter((code) => code === "VALID" || (totals[code] ?? 0) > 0)
    .map((code) => ({ code, label: outcomeLabel(code), color: OUTCOMES[code]?.color ?? UNKNOWN_COLOR, total: totals[code] ?? 0 }));
}

/** One sentence with every count, for screen readers (the chart's label) and tests. */
export function verificationSummary(label: string, usage: VerificationUsageView): string {
  const refusals = outcomeSeries(usage.totals.outcomes).filter((series) => series.code !== "VALID");
  const parts = [`${numberFormat.format(usage.totals.total)} verifications`, `${numberFormat.format(usage.totals.outcomes.VALID ?? 0)} valid`, ...refusals.map((series) => `${numberFormat.format(series.total)} ${series.label.toLowerCase()}`)];
  return `${label}: ${parts.join(", ")}`;
}

type Row = { t: number; total: number } & OutcomeCounts;

function ChartTooltip({ active, payload, label, bucket, series }: TooltipProps<number, string> & { bucket: BucketSize; series: OutcomeSeries[] }) {
  if (!active || !payload?.length) return null;
  const row = payload[0]!.payload as Row;
  return (
    <div className="min-w-[11rem] rounded-lg border bg-popover px-3 py-2 text-xs text-popover-foreground shadow-md">
      <p className="mb-1.5 font-medium">{tooltipTitle(Number(label), bucket)}</p>
      <div className="grid gap-1">
        {series.map((one) => (
          <div key={one.code} className="flex items-center gap-2">
            <span className="h-2.5 w-2.5 shrink-0 rounded-[2px]" style={{ background: one.color }} aria-hidden />
            <span className="text-muted-foreground">{one.label}</span>
            <span className="ml-auto font-mono font-medium tabular-nums">{numberFormat.format(row[one.code] ?? 0)}</span>
          </div>
        ))}
        <div className="mt-1 flex items-center gap-2 border-t pt-1">
          <span className="text-muted-foreground">Verifications</span>
          <span className="ml-auto font-mono font-medium tabular-nums">{numberFormat.format(row.total)}</span>
        </div>
      </div>
    </div>
  );
}

/**
 * Verifications per bucket, stacked by outcome, with a legend that also gives each outcome's total
 * (the chart's text alternative). Drawn in the browser only (recharts measures its box), with a
 * placeholder of the same height on the server; an empty period shows `empty` instead.
 */
export function VerificationChart({ usage, bucket, label, empty, className }: { usage: VerificationUsageView; bucket: BucketSize; label: string; empty: string; className?: string }) {
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);
  const series = outcomeSeries(usage.totals.outcomes);
  const summary = verificationSummary(label, usage);
  if (usage.totals.total === 0) {
    return (
      <div className={cn("flex h-64 w-full items-center justify-center rounded-md border border-dashed px-6 text-center", className)} data-testid="verification-chart" data-total={0}>
        <p className="max-w-md text-sm text-muted-foreground">{empty}</p>
      </div>
    );
  }
  const rows: Row[] = usage.points.map((point) => ({ ...point.outcomes, t: Date.parse(point.at), total: point.total }));
  return (
    <div className="space-y-3">
      <div className={cn("h-64 w-full", className)} role="img" aria-label={summary} data-testid="verification-chart" data-total={usage.totals.total}>
        {mounted ? (
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }} barCategoryGap="18%">
              <CartesianGrid vertical={false} stroke="hsl(var(--border))" />
              <XAxis dataKey="t" tickFormatter={tickFormatter(bucket)} tickLine={false} axisLine={false} tickMargin={8} minTickGap={28} fontSize={12} stroke="hsl(var(--muted-foreground))" />
              <YAxis allowDecimals={false} tickLine={false} axisLine={false} width={40} fontSize={12} stroke="hsl(var(--muted-foreground))" tickFormatter={(n: number) => numberFormat.format(n)} />
              <Tooltip cursor={{ fill: "hsl(var(--muted))", opacity: 0.6 }} content={<ChartTooltip bucket={bucket} series={series} />} isAnimationActive={false} />
              {series.map((one) => (
                <Bar key={one.code} dataKey={one.code} name={one.label} stackId="outcomes" fill={one.color} isAnimationActive={false} />
              ))}
            </BarChart>
          </ResponsiveContainer>
        ) : (
          <div className="h-full w-full rounded-md bg-muted/40" aria-hidden />
        )}
      </div>
      <ul aria-label="Verifications by outcome" className="flex flex-wrap items-center gap-x-4 gap-y-1 px-4 text-xs text-muted-foreground sm:px-0" data-testid="outcome-totals">
        {series.map((one) => (
          <li key={one.code} className="flex items-center gap-1.5" data-outcome={one.code}>
            <span className="h-2.5 w-2.5 rounded-[2px]" style={{ background: one.color }} aria-hidden />
            {one.label}
            <span className="font-mono font-medium tabular-nums text-foreground">{numberFormat.format(one.total)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
