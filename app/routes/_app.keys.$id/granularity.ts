import { z } from "zod";

/** The chart periods the key page offers (`?g=`), by the bucket each charts. */
export const GRANULARITY = {
  minute: { label: "Last hour", spanMs: 3_600_000 },
  hour: { label: "Last 24 hours", spanMs: 86_400_000 },
  day: { label: "Last 30 days", spanMs: 30 * 86_400_000 },
} as const;
export type Granularity = keyof typeof GRANULARITY;
export const granularityParam = z.enum(["minute", "hour", "day"]).catch("hour");
