import { useEffect, useState } from "react";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis, type TooltipProps } from "recharts";
import { cn } from "~/lib/utils";

export interface ChartPoint {
  /** Bucket start, ISO 8601. */
  t: string;
  requests: number;
  success: number;
  denied: number;
  rateLimited: number;
  errors: number;
}

/** The stacked series, in stacking order; colours are the theme's, so light and dark both work. */
export const USAGE_SERIES = [
  { key: "success", label: "Success", color: "hsl(var(--success))" },
  { key: "denied", label: "Denied", color: "hsl(var(--destructive))" },
  { key: "rateLimited", label: "Rate limited", color: "hsl(var(--warning))" },
  { key: "other", label: "Errors & other", color: "hsl(var(--muted-foreground))" },
] as const;

type Row = { t: number; success: number; denied: number; rateLimited: number; other: number; requests: number };

/** Each bucket split so the stack adds up to its requests: anything neither success, denied nor rate limited (5xx, 404…) is "other". */
export function chartRows(points: readonly ChartPoint[]): Row[] {
  return points.map((point) => ({
    t: Date.parse(point.t),
    success: point.success,
    denied: point.denied,
    rateLimited: point.rateLimited,
    other: Math.max(point.requests - point.success - point.denied - point.rateLimited, 0),
    requests: point.requests,
  }));
}

export type BucketSize = "minute" | "hour" | "6h" | "day";

/** Axis labels for buckets of this size, in the reader's locale. */
export function tickFormatter(bucket: BucketSize): (t: number) => string {
  const format =
    bucket === "day"
      ? new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" })
      : bucket === "6h"
        ? new Intl.DateTimeFormat(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit" })
        : new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  return (t) => format.format(new Date(t));
}

/** A bucket's start as a tooltip heading: the date, and the time unless buckets are days. */
export function tooltipTitle(t: number, bucket: BucketSize): string {
  const options: Intl.DateTimeFormatOptions = bucket === "day" ? { dateStyle: "medium" } : { dateStyle: "medium", timeStyle: "short" };
  return new Intl.DateTimeFormat(undefined, options).format(new Date(t));
}

export const numberFormat = new Intl.NumberFormat("en");

function ChartTooltip({ active, payload, label, bucket }: TooltipProps<number, string> & { bucket: BucketSize }) {
  if (!active || !payload?.length) return null;
  const row = payload[0]!.payload as Row;
  return (
    <div className="min-w-[10rem] rounded-lg border bg-popover px-3 py-2 text-xs text-popover-foreground shadow-md">
      <p className="mb-1.5 font-medium">{tooltipTitle(Number(label), bucket)}</p>
      <div className="grid gap-1">
        {USAGE_SERIES.map((series) => (
          <div key={series.key} className="flex items-center gap-2">
            <span className="h-2.5 w-2.5 shrink-0 rounded-[2px]" style={{ background: series.color }} aria-hidden />
            <span className="text-muted-foreground">{series.label}</span>
            <span className="ml-auto font-mono font-medium tabular-nums">{numberFormat.format(row[series.key])}</span>
          </div>
        ))}
        <div className="mt-1 flex items-center gap-2 border-t pt-1">
          <span className="text-muted-foreground">Requests</span>
          <span className="ml-auto font-mono font-medium tabular-nums">{numberFormat.format(row.requests)}</span>
        </div>
      </div>
    </div>
  );
}

export function ChartLegend({ className }: { className?: string }) {
  return (
    <ul className={cn("flex flex-wrap items-center gap-x-4 gap-y-1 text-xs text-muted-foreground", className)}>
      {USAGE_SERIES.map((series) => (
        <li key={series.key} className="flex items-center gap-1.5">
          <span className="h-2.5 w-2.5 rounded-[2px]" style={{ background: series.color }} aria-hidden />
          {series.label}
        </li>
      ))}
    </ul>
  );
}

/**
 * Requests per bucket, stacked by outcome. Drawn in the browser only (recharts measures its box),
 * with a placeholder of the same height on the server so the page does not jump.
 */
export function UsageChart({ points, bucket, label, className }: { points: readonly ChartPoint[]; bucket: BucketSize; label: string; className?: string }) {
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);
  const rows = chartRows(points);
  const total = rows.reduce((sum, row) => sum + row.requests, 0);
  const summary = `${label}: ${numberFormat.format(total)} requests, ${numberFormat.format(rows.reduce((s, r) => s + r.denied, 0))} denied, ${numberFormat.format(rows.reduce((s, r) => s + r.rateLimited, 0))} rate limited`;
  return (
    <div className={cn("relative h-64 w-full", className)} role="img" aria-label={summary} data-testid="usage-chart" data-requests={total}>
      {mounted ? (
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }} barCategoryGap="18%">
            <CartesianGrid vertical={false} stroke="hsl(var(--border))" />
            <XAxis dataKey="t" tickFormatter={tickFormatter(bucket)} tickLine={false} axisLine={false} tickMargin={8} minTickGap={28} fontSize={12} stroke="hsl(var(--muted-foreground))" />
            <YAxis allowDecimals={false} tickLine={false} axisLine={false} width={40} fontSize={12} stroke="hsl(var(--muted-foreground))" tickFormatter={(n: number) => numberFormat.format(n)} />
            <Tooltip cursor={{ fill: "hsl(var(--muted))", opacity: 0.6 }} content={<ChartTooltip bucket={bucket} />} isAnimationActive={false} />
            {USAGE_SERIES.map((series) => (
              <Bar key={series.key} dataKey={series.key} name={series.label} stackId="usage" fill={series.color} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      ) : (
        <div className="h-full w-full rounded-md bg-muted/40" aria-hidden />
      )}
      {mounted && total === 0 ? (
        <div className="pointer-events-none absolute inset-0 flex items-center justify-center">
          <p className="rounded-md bg-background/80 px-3 py-1.5 text-sm text-muted-foreground">No requests in this period yet</p>
        </div>
      ) : null}
    </div>
  );
}
