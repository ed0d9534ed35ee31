import { z } from "zod";

/** The chart periods the key, API and identity pages offer (`?g=`), by the bucket each charts. */
export const GRANULARITY = {
  minute: { label: "Last hour", spanMs: 3_600_000 },
  hour: { label: "Last 24 hours", spanMs: 86_400_000 },
  day: { label: "Last 30 days", spanMs: 30 * 86_400_000 },
} as const;
export type Granularity = keyof typeof GRANULARITY;
export const granularityParam = z.enum(["minute", "hour", "day"]).catch("hour");

/** The usage read's input for the period `?g=` of `url` picks, ending at `now`. */
export function chartPeriod(url: string, now: Date): { granularity: Granularity; from: string; to: string } {
  const granularity = granularityParam.parse(new URL(url).searchParams.get("g") ?? undefined);
  return { granularity, from: new Date(now.getTime() - GRANULARITY[granularity].spanMs).toISOString(), to: now.toISOString() };
}
