import { createApiInput, updateApiInput, type CreateApiInput, type UpdateApiInput } from "./apis-schemas";
import { formText, parseAllowedIps, parseRateLimit, type FieldErrorMap, type FormPart } from "./key-form.server";

/**
 * Reads the API forms of the dashboard (create and settings) into the API schemas' input, or into
 * messages for the fields they came from. The vocabulary and implications are typed one per line.
 */

/** Non-blank, trimmed lines of a textarea. */
const lines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "");

/** The `permissions` textarea: one name per line (commas also separate). */
export function parseVocabulary(form: FormData): string[] {
  return lines(formText(form, "permissions")).flatMap((line) => line.split(",").map((name) => name.trim()).filter(Boolean));
}

/** The `implications` textarea: lines of `admin: write, read`, each naming what a permission implies. */
export function parseImplications(form: FormData): FormPart<Record<string, string[]>> {
  const implications: Record<string, string[]> = {};
  const problems: string[] = [];
  lines(formText(form, "implications")).forEach((line, index) => {
    const match = /^([^:\s]+)\s*(?::|→|->)\s*(.*)$/.exec(line);
    if (!match) {
      problems.push(`Line ${index + 1}: write it as "admin: write, read"`);
      return;
    }
    const implied = match[2]!.split(",").map((name) => name.trim()).filter(Boolean);
    implications[match[1]!] = [...new Set([...(implications[match[1]!] ?? []), ...implied])];
  });
  return problems.length > 0 ? { ok: false, errors: { implications: problems } } : { ok: true, value: implications };
}

const optionalDays = (form: FormData, field: string, errors: FieldErrorMap): number | undefined => {
  const text = formText(form, field).trim();
  if (!text) return undefined;
  if (!/^\d+$/.test(text)) {
    (errors[field] ??= []).push("Enter a whole number of days, or leave it empty");
    return undefined;
  }
  return Number(text);
};

/** The defaults section: expiry days, longest lifetime, rate limit, allowlist and recoverable. */
export function parseDefaults(form: FormData): FormPart<Record<string, unknown>> {
  const errors: FieldErrorMap = {};
  const merge = <T>(part: FormPart<T>): T | undefined => {
    if (part.ok) return part.value;
    for (const [field, messages] of Object.entries(part.errors)) (errors[field] ??= []).push(...messages);
    return undefined;
  };
  const expiresInDays = optionalDays(form, "expiresInDays", errors);
  const maxTtlDays = optionalDays(form, "maxTtlDays", errors);
  const rateLimit = merge(parseRateLimit(form, { requests: "rateLimitRequests", windowSeconds: "rateLimitWindow" }));
  const allowedIps = merge(parseAllowedIps(form));
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      ...(expiresInDays !== undefined && { expiresInDays }),
      ...(maxTtlDays !== undefined && { maxTtlDays }),
      ...(rateLimit && { rateLimit }),
      ...(allowedIps && allowedIps.length > 0 && { allowedIps }),
      ...(formText(form, "recoverable") === "on" && { recoverable: true }),
    },
  };
}

/** Where a schema issue's message is shown: the form field its path names. */
function fieldOf(path: readonly PropertyKey[]): string {
  const [head, second, third] = path;
  if (head === "defaults") {
    if (second === "rateLimit") return third === "windowSeconds" ? "rateLimitWindow" : "rateLimitRequests";
    return typeof second === "string" ? second : "form";
  }
  return typeof head === "string" ? head : "form";
}

export type ApiForm<T> = { ok: true; value: T } | { ok: false; fieldErrors: FieldErrorMap };

function readApiForm<T>(form: FormData, schema: typeof createApiInput | typeof updateApiInput, base: Record<string, unknown>): ApiForm<T> {
  const fieldErrors: FieldErrorMap = {};
  const add = (field: string, message: string) => {
    const messages = (fieldErrors[field] ??= []);
    if (!messages.includes(message)) messages.push(message);
  };
  const implications = parseImplications(form);
  const defaults = parseDefaults(form);
  for (const part of [implications, defaults]) if (!part.ok) for (const [field, messages] of Object.entries(part.errors)) messages.forEach((message) => add(field, message));
  const parsed = schema.safeParse({
    ...base,
    name: formText(form, "name"),
    permissions: parseVocabulary(form),
    ...(implications.ok && { implications: implications.value }),
    ...(defaults.ok && { defaults: defaults.value }),
  });
  if (!parsed.success) for (const issue of parsed.error.issues) add(fieldOf(issue.path), issue.message);
  if (!parsed.success || Object.keys(fieldErrors).length > 0) return { ok: false, fieldErrors };
  return { ok: true, value: parsed.data as T };
}

/** The create form: name, prefix, vocabulary, implications and defaults. */
export const readCreateApiForm = (form: FormData) => readApiForm<CreateApiInput>(form, createApiInput, { prefix: formText(form, "prefix").trim() });

/** The settings form: everything but the prefix, which never changes (keys carry it). */
export const readUpdateApiForm = (form: FormData) => readApiForm<UpdateApiInput>(form, updateApiInput, {});
