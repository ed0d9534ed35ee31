import { Link, useSearchParams } from "@remix-run/react";
import { GRANULARITY, type Granularity } from "~/lib/chart-period";
import { cn } from "~/lib/utils";

const SHORT_LABEL: Record<Granularity, string> = { minute: "Hour", hour: "Day", day: "Month" };

/** Links that set the page's `?g=` (keeping its other parameters), the current one marked. */
export function PeriodSwitch({ value }: { value: Granularity }) {
  const [search] = useSearchParams();
  return (
    <div role="group" aria-label="Chart period" className="inline-flex h-8 shrink-0 items-center rounded-lg bg-muted p-1 text-muted-foreground">
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
            title={GRANULARITY[g].label}
            className={cn("inline-flex h-6 items-center rounded-md px-2.5 text-xs font-medium", g === value ? "bg-background text-foreground shadow" : "hover:text-foreground")}
          >
            {SHORT_LABEL[g]}
          </Link>
        );
      })}
    </div>
  );
}
