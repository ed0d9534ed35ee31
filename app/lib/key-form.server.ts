import type { z } from "zod";
import { checkAllowlist } from "../components/allowlist-input";

/**
 * Reads the key settings the dashboard's forms submit (the create page and the key page's inline
 * editors) into the values the key schemas take, or into messages for the fields they came from.
 * Ranges and policy (longest expiry, largest rate limit) stay the schemas' and the key service's
 * to check: these only turn what a person typed into numbers, dates and addresses.
 */

/** Messages by form field name, as the forms show them under their fields. */
export type FieldErrorMap = Record<string, string[]>;

/** One part of a key form: its value, or what is wrong with the fields it was read from. */
export type FormPart<T> = { ok: true; value: T } | { ok: false; errors: FieldErrorMap };

const accept = <T>(value: T): FormPart<T> => ({ ok: true, value });
const refuse = <T>(errors: FieldErrorMap): FormPart<T> => ({ ok: false, errors });

/** A field's text; a missing field or a file reads as "". */
export function formText(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value : "";
}

const wholeNumber = (text: string) => (/^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN);

/** The longest time zone offset there is (UTC−14), in minutes: anything else is not a browser's and reads as UTC. */
const MAX_TIMEZONE_OFFSET_MINUTES = 840;

/** End of the chosen calendar day in the browser's time zone (offset from Date#getTimezoneOffset). */
function endOfDay(date: string, timezoneOffsetMinutes: number): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return null;
  const utc = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), 23, 59, 59);
  const offset = Number.isInteger(timezoneOffsetMinutes) && Math.abs(timezoneOffsetMinutes) <= MAX_TIMEZONE_OFFSET_MINUTES ? timezoneOffsetMinutes : 0;
  return new Date(utc + offset * 60_000).toISOString();
}

/** The instant the date picked in `expiresOn` ends, in the time zone `tzOffset` names. */
export function parseExpiryDate(form: FormData): FormPart<string> {
  const iso = endOfDay(formText(form, "expiresOn"), Number(formText(form, "tzOffset")));
  return iso ? accept(iso) : refuse({ expiresOn: ["Pick the date the key stops working"] });
}

export type Expiry = { expiresAt: string | null } | { expiresInDays: number };

/**
 * The create form's `expiry` choice: a number of days from now, "never", or "custom" with a date
 * in `expiresOn` that is still ahead of `now`.
 */
export function parseExpiry(form: FormData, now: Date): FormPart<Expiry> {
  const choice = formText(form, "expiry");
  if (/^\d+$/.test(choice)) return accept({ expiresInDays: Number(choice) });
  if (choice === "never") return accept({ expiresAt: null });
  if (choice !== "custom") return refuse({ expiry: ["Choose when the key expires"] });
  const date = parseExpiryDate(form);
  if (!date.ok) return date;
  return new Date(date.value) <= now ? refuse({ expiresOn: ["Pick a date in the future"] }) : accept({ expiresAt: date.value });
}

/** The key page's expiry editor: "Never expires" ticked (null), or a date. */
export function parseExpiryChange(form: FormData): FormPart<string | null> {
  return formText(form, "never") === "on" ? accept(null) : parseExpiryDate(form);
}

export interface RateLimitFields {
  requests: string;
  windowSeconds: string;
}

export type RateLimitValue = { requests: number; windowSeconds: number };

/** For a form that shows one message for the pair of rate limit fields. */
export const RATE_LIMIT_PAIR_MESSAGE = "Enter whole numbers for both, or clear both for the server's default";

/**
 * A rate limit typed as two whole numbers in the fields `names` gives; both empty is null (the
 * server's default). Errors are keyed by those field names.
 */
export function parseRateLimit(form: FormData, names: RateLimitFields): FormPart<RateLimitValue | null> {
  const requestsText = formText(form, names.requests).trim();
  const windowText = formText(form, names.windowSeconds).trim();
  if (!requestsText && !windowText) return accept(null);
  const errors: FieldErrorMap = {};
  const add = (field: string, message: string) => (errors[field] ??= []).push(message);
  if (!requestsText) add(names.requests, "Give the number of requests too, or clear both fields");
  if (!windowText) add(names.windowSeconds, "Give the window too, or clear both fields");
  const requests = wholeNumber(requestsText);
  const windowSeconds = wholeNumber(windowText);
  if (requestsText && Number.isNaN(requests)) add(names.requests, "Enter a whole number");
  if (windowText && Number.isNaN(windowSeconds)) add(names.windowSeconds, "Enter a whole number of seconds");
  // Ranges are the schema's to check, once both numbers are there.
  return Object.keys(errors).length > 0 ? refuse(errors) : accept({ requests, windowSeconds });
}

/**
 * The `allowedIps` textarea, one address or CIDR range per line, by the rules the page checks as
 * it is typed: entries normalized and without duplicates, or one message per bad line.
 */
export function parseAllowedIps(form: FormData): FormPart<string[]> {
  const { entries, problems } = checkAllowlist(formText(form, "allowedIps"));
  return problems.length > 0 ? refuse({ allowedIps: problems }) : accept(entries);
}

export interface CreditsValue {
  remaining: number;
  refill?: { interval: "daily" | "monthly"; amount: number; refillDay?: number };
}

/**
 * Credits typed as `credits` (the balance; empty = unlimited), `refillInterval` ("" = never,
 * daily, monthly), `refillAmount` and, for monthly, `refillDay`. Ranges are the schema's to check.
 */
export function parseCredits(form: FormData): FormPart<CreditsValue | null> {
  const remainingText = formText(form, "credits").trim();
  const interval = formText(form, "refillInterval");
  if (!remainingText) return accept(null);
  const errors: FieldErrorMap = {};
  const add = (field: string, message: string) => (errors[field] ??= []).push(message);
  const remaining = wholeNumber(remainingText);
  if (Number.isNaN(remaining)) add("credits", "Enter a whole number of credits, or clear it for unlimited");
  if (interval !== "daily" && interval !== "monthly") return Object.keys(errors).length > 0 ? refuse(errors) : accept({ remaining });
  const amount = wholeNumber(formText(form, "refillAmount"));
  if (Number.isNaN(amount)) add("refillAmount", "Enter how many credits each refill gives");
  const dayText = formText(form, "refillDay").trim();
  const refillDay = interval === "monthly" && dayText ? wholeNumber(dayText) : undefined;
  if (Number.isNaN(refillDay)) add("refillDay", "Enter a day of the month (1–31)");
  if (Object.keys(errors).length > 0) return refuse(errors);
  return accept({ remaining, refill: { interval, amount, ...(refillDay !== undefined && { refillDay }) } });
}

/** A whole number of credits to add, from `addCredits`. */
export function parseAddCredits(form: FormData): FormPart<number> {
  const amount = wholeNumber(formText(form, "addCredits"));
  return Number.isNaN(amount) ? refuse({ addCredits: ["Enter a whole number of credits to add"] }) : accept(amount);
}

export interface NamedLimitValue {
  name: string;
  limit: number;
  durationSeconds: number;
}

/**
 * The named limits editor's rows (repeated `ratelimitName`, `ratelimitLimit`, `ratelimitSeconds`),
 * rows left wholly blank skipped. Undefined when the form has no editor (`ratelimitsEditor`), so a
 * form without one changes nothing; an editor with no rows means no limits. Messages name the row;
 * names, ranges and duplicates are the schema's to check.
 */
export function parseNamedLimits(form: FormData): FormPart<NamedLimitValue[] | undefined> {
  if (formText(form, "ratelimitsEditor") === "") return accept(undefined);
  const texts = (name: string) => form.getAll(name).map((value) => (typeof value === "string" ? value.trim() : ""));
  const [names, limits, seconds] = [texts("ratelimitName"), texts("ratelimitLimit"), texts("ratelimitSeconds")];
  const problems: string[] = [];
  const value: NamedLimitValue[] = [];
  for (let row = 0; row < Math.max(names.length, limits.length, seconds.length); row++) {
    const [name, limitText, secondsText] = [names[row] ?? "", limits[row] ?? "", seconds[row] ?? ""];
    if (!name && !limitText && !secondsText) continue;
    const label = `Limit ${row + 1}${name ? ` (${name})` : ""}`;
    const limit = wholeNumber(limitText);
    const durationSeconds = wholeNumber(secondsText);
    if (!name) problems.push(`${label}: give it a name`);
    if (Number.isNaN(limit)) problems.push(`${label}: enter a whole number of requests`);
    if (Number.isNaN(durationSeconds)) problems.push(`${label}: enter a whole number of seconds`);
    value.push({ name, limit, durationSeconds });
  }
  return problems.length > 0 ? refuse({ ratelimits: problems }) : accept(value);
}

/** A schema message as a form shows it: one about a named limit says which row (from 1) it is about. */
export function issueMessage(issue: z.ZodIssue): string {
  const [field, row] = issue.path;
  return field === "ratelimits" && typeof row === "number" ? `Limit ${row + 1}: ${issue.message}` : issue.message;
}
