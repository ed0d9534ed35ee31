import { z } from "zod";

/**
 * The one range of instants Keyward accepts from any input: cursors, `from`/`to` filters and key
 * expiries. PostgreSQL's timestamptz reaches 4713 BC–294276 AD and JavaScript's Date ±275760, but
 * nothing a key service stores lies outside 1970–9999. The upper end leaves room for the longest
 * rotation grace period (7 days) to be added to any accepted expiry without leaving the range.
 */
export const EARLIEST_INSTANT = new Date(Date.UTC(1970, 0, 1));
export const LONGEST_GRACE_MS = 7 * 24 * 3600 * 1000;
export const LATEST_INSTANT = new Date(Date.UTC(9999, 11, 31) - LONGEST_GRACE_MS);

export const DATE_RANGE_MESSAGE = `Must be between ${EARLIEST_INSTANT.toISOString()} and ${LATEST_INSTANT.toISOString()}`;

export function isWithinDateRange(date: Date): boolean {
  const time = date.getTime();
  return Number.isFinite(time) && time >= EARLIEST_INSTANT.getTime() && time <= LATEST_INSTANT.getTime();
}

/** An ISO 8601 instant with an offset, inside the accepted range. */
export const boundedInstant = () =>
  z.iso.datetime({ offset: true }).refine((text) => isWithinDateRange(new Date(text)), DATE_RANGE_MESSAGE);
