import { Tooltip, TooltipContent, TooltipTrigger } from "~/components/ui/tooltip";

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 86_400_000],
  ["month", 30 * 86_400_000],
  ["week", 7 * 86_400_000],
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
];

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

/** "in 30 days", "3 hours ago", "just now": coarse on purpose, so server and browser render the same text. */
export function formatRelative(date: Date, now: Date): string {
  const diff = date.getTime() - now.getTime();
  for (const [unit, ms] of UNITS) {
    if (Math.abs(diff) >= ms) return relative.format(Math.round(diff / ms), unit);
  }
  return diff > 0 ? "in under a minute" : "just now";
}

export function formatAbsolute(date: Date): string {
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

/**
 * A relative time with the absolute one on hover or focus. `now` comes from the loader, so the
 * server's HTML and the hydrated page agree; the absolute time is only rendered in the browser's zone.
 */
export function RelativeTime({ iso, now, fallback = "—" }: { iso: string | null; now: string; fallback?: string }) {
  if (!iso) return <span className="text-muted-foreground">{fallback}</span>;
  const date = new Date(iso);
  return (
    <Tooltip>
      <TooltipTrigger asChild>
        <time dateTime={iso} tabIndex={0} className="cursor-default whitespace-nowrap rounded-sm underline decoration-dotted decoration-muted-foreground/50 underline-offset-4 focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring">
          {formatRelative(date, new Date(now))}
        </time>
      </TooltipTrigger>
      <TooltipContent>{formatAbsolute(date)}</TooltipContent>
    </Tooltip>
  );
}
