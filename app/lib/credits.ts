import type { CreditsRefill } from "../../db/schema";

/**
 * When an issued key's credits refill, on the UTC calendar: daily at 00:00, monthly at 00:00 of
 * `refillDay` (default 1; the month's last day when the month is shorter). A refill puts
 * `remaining` back to `amount`. The same schedule is written in SQL for the verification's
 * atomic charge (app/services/credits.server.ts); tests hold the two to the same answers.
 */

/** 00:00 UTC of `day` in the month `month` of `year` (month may run past 0–11), clamped to the month's last day. */
function refillDayOf(year: number, month: number, day: number): Date {
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(Date.UTC(year, month, Math.min(day, lastDay)));
}

/** The latest refill time at or before `now`. */
export function lastRefillAt(refill: CreditsRefill, now: Date): Date {
  const [year, month, date] = [now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()];
  if (refill.interval === "daily") return new Date(Date.UTC(year, month, date));
  const day = refill.refillDay ?? 1;
  const thisMonth = refillDayOf(year, month, day);
  return thisMonth.getTime() <= now.getTime() ? thisMonth : refillDayOf(year, month - 1, day);
}

/** The first refill time after `now`. */
export function nextRefillAt(refill: CreditsRefill, now: Date): Date {
  const [year, month, date] = [now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()];
  if (refill.interval === "daily") return new Date(Date.UTC(year, month, date + 1));
  const day = refill.refillDay ?? 1;
  const thisMonth = refillDayOf(year, month, day);
  return thisMonth.getTime() > now.getTime() ? thisMonth : refillDayOf(year, month + 1, day);
}

export interface StoredCredits {
  creditsRemaining: number | null;
  creditsRefill: CreditsRefill | null;
  creditsRefilledAt: Date | null;
}

/** A key's credits as they stand at `now`: a refill that fell due since the last one counts even before a verification writes it. */
export function currentCredits(stored: StoredCredits, now: Date): { remaining: number; refill: CreditsRefill | null; nextRefillAt: string | null } | null {
  const { creditsRemaining, creditsRefill: refill, creditsRefilledAt } = stored;
  if (creditsRemaining === null) return null;
  if (!refill) return { remaining: creditsRemaining, refill: null, nextRefillAt: null };
  const due = creditsRefilledAt === null || creditsRefilledAt.getTime() < lastRefillAt(refill, now).getTime();
  return { remaining: due ? refill.amount : creditsRemaining, refill, nextRefillAt: nextRefillAt(refill, now).toISOString() };
}

/**
 * When a key is near its credit end (the API page and `GET /api/v1/apis/{id}/usage` list them): at
 * most `absolute` credits left, or at most `percent` % of the amount its refill gives. Keys in a
 * rotation's grace period are left out: their successor holds the shared balance and is listed.
 */
export const LOW_CREDITS = { absolute: 10, percent: 10 } as const;

/** The rule in words, for the page and the API document. */
export const LOW_CREDITS_TEXT = `at most ${LOW_CREDITS.absolute} credits left, or at most ${LOW_CREDITS.percent} % of their refill amount`;
