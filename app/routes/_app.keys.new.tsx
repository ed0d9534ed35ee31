import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { ArrowLeft, CircleCheck, Loader2, TriangleAlert } from "lucide-react";
import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { CopyButton } from "~/components/copy-button";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { FieldErrors, fieldIds, FormField } from "~/components/form-field";
import { PageHeader } from "~/components/page-header";
import { formatRelative } from "~/components/relative-time";
import { Alert, AlertDescription, AlertTitle } from "~/components/ui/alert";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "~/components/ui/card";
import { Checkbox } from "~/components/ui/checkbox";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { Switch } from "~/components/ui/switch";
import { Textarea } from "~/components/ui/textarea";
import { describeFailure } from "~/lib/action-errors.server";
import { normalizeCidr } from "~/lib/ip";
import { createKeyInput, EXPIRY_PRESET_DAYS } from "~/lib/key-schemas";
import { ROLE_SCOPES, type Scope } from "~/lib/scopes";
import { requireUser } from "~/session.server";
import { readForm } from "~/lib/request.server";

export const meta: MetaFunction = () => [{ title: "Create API key · Keyward" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { user } = await requireUser(request, context);
  const { config } = context.keyward;
  const maxTtlDays = config.maxKeyTtlDays ?? null;
  return json({
    grantableScopes: ROLE_SCOPES[user.role],
    presets: EXPIRY_PRESET_DAYS.filter((days) => maxTtlDays === null || days <= maxTtlDays),
    maxTtlDays,
    origin: config.origin ?? new URL(request.url).origin,
    now: context.keyward.clock.now().toISOString(),
  });
}

type FieldErrorMap = Record<string, string[]>;

interface AllowlistLine {
  line: number;
  value: string;
}

/** Non-blank lines of the allowlist textarea, with their line numbers for error messages. */
function allowlistLines(text: string): AllowlistLine[] {
  return text
    .split(/\r?\n/)
    .map((value, index) => ({ line: index + 1, value: value.trim() }))
    .filter((entry) => entry.value !== "");
}

/** End of the chosen calendar day in the browser's time zone (offset from Date#getTimezoneOffset). */
function endOfDay(date: string, timezoneOffsetMinutes: number): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return null;
  const utc = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), 23, 59, 59);
  const offset = Number.isInteger(timezoneOffsetMinutes) && Math.abs(timezoneOffsetMinutes) <= 840 ? timezoneOffsetMinutes : 0;
  return new Date(utc + offset * 60_000).toISOString();
}

const wholeNumber = (text: string) => (/^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN);

export async function action({ request, context }: ActionFunctionArgs) {
  const { caller } = await requireUser(request, context);
  const form = await readForm(request);
  const text = (name: string) => {
    const value = form.get(name);
    return typeof value === "string" ? value : "";
  };
  const fieldErrors: FieldErrorMap = {};
  const add = (field: string, message: string) => (fieldErrors[field] ??= []).push(message);

  const expiry = text("expiry");
  const expiryField = expiry === "custom" ? "expiresOn" : "expiry";
  let expiresAt: string | null | undefined;
  let expiresInDays: number | undefined;
  if (/^\d+$/.test(expiry)) expiresInDays = Number(expiry);
  else if (expiry === "never") expiresAt = null;
  else if (expiry === "custom") {
    const iso = endOfDay(text("expiresOn"), Number(text("tzOffset")));
    if (!iso) add("expiresOn", "Pick the date the key stops working");
    else if (new Date(iso) <= context.keyward.clock.now()) add("expiresOn", "Pick a date in the future");
    else expiresAt = iso;
  } else add("expiry", "Choose when the key expires");

  const lines = allowlistLines(text("allowedIps"));

  let metadata: unknown;
  const metadataText = text("metadata").trim();
  if (metadataText) {
    try {
      metadata = JSON.parse(metadataText);
    } catch {
      add("metadata", 'Metadata must be valid JSON, e.g. {"plan": "pro"}');
    }
    if (metadata !== undefined && (metadata === null || typeof metadata !== "object" || Array.isArray(metadata))) {
      add("metadata", 'Metadata must be a JSON object (in braces), e.g. {"plan": "pro"}');
      metadata = undefined;
    }
  }

  const requestsText = text("rateLimitRequests").trim();
  const windowText = text("rateLimitWindow").trim();
  let rateLimit: { requests: number; windowSeconds: number } | null = null;
  if (requestsText || windowText) {
    if (!requestsText) add("rateLimitRequests", "Give the number of requests too, or clear both fields");
    if (!windowText) add("rateLimitWindow", "Give the window too, or clear both fields");
    const requests = wholeNumber(requestsText);
    const windowSeconds = wholeNumber(windowText);
    if (requestsText && Number.isNaN(requests)) add("rateLimitRequests", "Enter a whole number");
    if (windowText && Number.isNaN(windowSeconds)) add("rateLimitWindow", "Enter a whole number of seconds");
    // Ranges are the schema's to check, once both numbers are there.
    if (!Number.isNaN(requests) && !Number.isNaN(windowSeconds)) rateLimit = { requests, windowSeconds };
  }

  const parsed = createKeyInput.safeParse({
    name: text("name"),
    description: text("description").trim() || undefined,
    scopes: form.getAll("scopes").filter((scope): scope is string => typeof scope === "string"),
    expiresAt,
    expiresInDays,
    allowedIps: lines.map((entry) => entry.value),
    rateLimit,
    recoverable: text("recoverable") === "on",
    ...(metadata !== undefined ? { metadata } : {}),
  });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const [head, second] = issue.path;
      if (head === "allowedIps" && typeof second === "number") add("allowedIps", `Line ${lines[second]?.line ?? second + 1}: ${issue.message}`);
      else if (head === "allowedIps") add("allowedIps", issue.message);
      else if (head === "rateLimit" && second === "requests") add("rateLimitRequests", issue.message);
      else if (head === "rateLimit" && second === "windowSeconds") add("rateLimitWindow", issue.message);
      else if (head === "expiresAt" || head === "expiresInDays") add(expiryField, issue.message);
      else if (typeof head === "string" && !fieldErrors[head]?.includes(issue.message)) add(head, issue.message);
    }
  }
  if (!parsed.success || Object.keys(fieldErrors).length > 0) {
    return json({ ok: false as const, formError: null, fieldErrors }, { status: 400 });
  }

  try {
    const { key, apiKey } = await caller.keys.create(parsed.data);
    // The plaintext key leaves the server in this response body only: never a URL, a redirect or a log.
    return json(
      { ok: true as const, key, apiKey: { id: apiKey.id, name: apiKey.name, scopes: apiKey.scopes, expiresAt: apiKey.expiresAt, recoverable: apiKey.recoverable } },
      { headers: { "Cache-Control": "no-store" } },
    );
  } catch (error) {
    const failure = describeFailure(error);
    const errors: FieldErrorMap = {};
    for (const [field, messages] of Object.entries(failure.fieldErrors)) {
      errors[field === "expiresAt" || field === "expiresInDays" ? expiryField : field === "rateLimit" ? "rateLimitRequests" : field] = messages;
    }
    // A message that belongs to a field is shown there; anything else heads the form.
    const formError = Object.keys(errors).length > 0 ? null : failure.error;
    return json({ ok: false as const, formError, fieldErrors: errors }, { status: failure.status });
  }
}

const SCOPE_INFO: Record<Scope, { title: string; description: string }> = {
  read: { title: "Read", description: "View keys and account details." },
  write: { title: "Write", description: "Create, change, disable and revoke keys. Implies read." },
  admin: { title: "Admin", description: "Manage every user's keys and users. Implies write and read." },
};

function expiryLabel(value: string): string {
  if (value === "never") return "Never";
  if (value === "custom") return "On a date…";
  return value === "365" ? "In 1 year" : `In ${value} days`;
}

function Section({ title, description, children }: { title: string; description: string; children: ReactNode }) {
  return (
    <section className="grid gap-4 py-6 first:pt-0 last:pb-0 md:grid-cols-3 md:gap-8">
      <div className="space-y-1">
        <h2 className="text-sm font-semibold">{title}</h2>
        <p className="text-sm text-muted-foreground">{description}</p>
      </div>
      <div className="space-y-5 md:col-span-2">{children}</div>
    </section>
  );
}

function CreatedKey({ created, origin, now }: { created: { key: string; apiKey: { name: string; scopes: string[]; expiresAt: string | null; recoverable: boolean } }; origin: string; now: string }) {
  const { key, apiKey } = created;
  const curl = `curl -H "Authorization: Bearer ${key}" \\\n  ${origin}/api/trpc/me`;
  return (
    <Card className="mx-auto max-w-4xl">
      <CardHeader>
        <div className="flex items-center gap-3">
          <span className="flex h-9 w-9 items-center justify-center rounded-full bg-success/10">
            <CircleCheck className="h-5 w-5 text-success" aria-hidden />
          </span>
          <div className="space-y-1">
            <CardTitle className="text-xl">API key created</CardTitle>
            <CardDescription>
              “{apiKey.name}” is ready to use. {apiKey.expiresAt ? `It expires ${formatRelative(new Date(apiKey.expiresAt), new Date(now))}.` : "It does not expire."}
            </CardDescription>
          </div>
        </div>
      </CardHeader>
      <CardContent className="space-y-6">
        <Alert variant="warning">
          <TriangleAlert className="h-4 w-4" aria-hidden />
          <AlertTitle>Copy this key now. It will not be shown again.</AlertTitle>
          <AlertDescription className="text-muted-foreground">
            Keyward stores only a one-way digest of it{apiKey.recoverable ? " (and an encrypted copy only an admin can reveal, audited)" : ""}. If you lose it, revoke it and create a new one.
          </AlertDescription>
        </Alert>

        <div className="space-y-2">
          <Label htmlFor="new-key">Your API key</Label>
          <div className="flex flex-col gap-2 sm:flex-row sm:items-start">
            <output id="new-key" data-testid="new-key" className="block min-w-0 flex-1 select-all break-all rounded-md border bg-muted px-3 py-2 font-mono text-sm leading-relaxed">
              {key}
            </output>
            <CopyButton value={key} label="Copy key" size="default" className="shrink-0" />
          </div>
          <div className="flex flex-wrap items-center gap-1.5 pt-1 text-xs text-muted-foreground">
            Scopes:
            {apiKey.scopes.map((scope) => (
              <Badge key={scope} variant={scope === "admin" ? "warning" : "outline"} className="font-mono font-medium">
                {scope}
              </Badge>
            ))}
          </div>
        </div>

        <div className="space-y-2">
          <div className="flex items-center justify-between gap-2">
            <Label htmlFor="curl-example">Try it</Label>
            <CopyButton value={curl} label="Copy command" variant="ghost" />
          </div>
          <pre id="curl-example" className="whitespace-pre-wrap break-all rounded-md border bg-zinc-950 p-4 font-mono text-xs leading-relaxed text-zinc-50 dark:bg-zinc-900">
            <code>{curl}</code>
          </pre>
        </div>
      </CardContent>
      <CardFooter className="flex flex-col-reverse gap-2 border-t pt-6 sm:flex-row sm:justify-end">
        <Button asChild variant="outline">
          <Link to="/keys/new" replace>
            Create another key
          </Link>
        </Button>
        <Button asChild>
          <Link to="/keys">Done</Link>
        </Button>
      </CardFooter>
    </Card>
  );
}

export default function NewKey() {
  const { grantableScopes, presets, maxTtlDays, origin, now } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const submitting = navigation.state === "submitting" && navigation.formMethod?.toLowerCase() === "post";

  const defaultExpiry = presets.includes(90) ? "90" : presets.length > 0 ? String(presets[presets.length - 1]) : "custom";
  const [expiry, setExpiry] = useState<string>(defaultExpiry);
  const [allowlist, setAllowlist] = useState("");
  const [tzOffset, setTzOffset] = useState(0);
  const formRef = useRef<HTMLFormElement>(null);

  useEffect(() => setTzOffset(new Date().getTimezoneOffset()), []);

  // "Create another key" starts from a clean form.
  useEffect(() => {
    if (!result?.ok) return;
    setAllowlist("");
    setExpiry(defaultExpiry);
  }, [result, defaultExpiry]);

  const liveIpErrors = useMemo(
    () =>
      allowlistLines(allowlist).flatMap(({ line, value }) => {
        const checked = normalizeCidr(value);
        return checked.ok ? [] : [`Line ${line}: ${checked.error}`];
      }),
    [allowlist],
  );
  const validIpCount = allowlistLines(allowlist).length - liveIpErrors.length;

  // A field's server error stays until the user edits that field.
  const [edited, setEdited] = useState<{ result: unknown; fields: ReadonlySet<string> }>({ result: undefined, fields: new Set() });
  const editedFields = edited.result === result ? edited.fields : new Set<string>();
  const markEdited = (field: string) => {
    if (!editedFields.has(field)) setEdited({ result, fields: new Set([...editedFields, field]) });
  };
  const errors: FieldErrorMap = Object.fromEntries(Object.entries(result && !result.ok ? result.fieldErrors : {}).filter(([field]) => !editedFields.has(field)));
  // Typing fixes allowlist entries as you go; server messages cover what only it checks (count, length).
  const ipErrors = [...new Set([...liveIpErrors, ...(errors.allowedIps ?? []).filter((message) => !message.startsWith("Line "))])];

  useEffect(() => {
    if (!result || result.ok) return;
    const first = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    first?.focus();
  }, [result]);

  if (result?.ok) return <CreatedKey created={result} origin={origin} now={now} />;

  const maxDate = maxTtlDays === null ? undefined : new Date(new Date(now).getTime() + maxTtlDays * 86_400_000).toISOString().slice(0, 10);
  const minDate = now.slice(0, 10);

  return (
    <>
      <PageHeader
        title="Create API key"
        description="The key is shown once, right after it is created. Only a digest is stored."
        actions={
          <Button asChild variant="ghost">
            <Link to="/keys">
              <ArrowLeft aria-hidden /> Back to keys
            </Link>
          </Button>
        }
      />
      <Card>
        <Form
          method="post"
          ref={formRef}
          noValidate
          aria-describedby={result && !result.ok && result.formError ? "form-error" : undefined}
          onInput={(event) => {
            const { name } = event.target as HTMLInputElement;
            if (name) markEdited(name);
          }}
        >
          <CardContent className="divide-y p-6">
            {result && !result.ok && result.formError ? (
              <div className="pb-6">
                <Alert variant="destructive" id="form-error">
                  <TriangleAlert className="h-4 w-4" aria-hidden />
                  <AlertTitle>The key was not created</AlertTitle>
                  <AlertDescription>{result.formError}</AlertDescription>
                </Alert>
              </div>
            ) : null}

            <Section title="Details" description="A name tells you later which app or person uses this key.">
              <FormField id="name" label="Name" errors={errors.name} hint="For example “Billing service (production)”.">
                <Input {...fieldIds("name", errors.name, true)} name="name" required maxLength={100} autoComplete="off" autoFocus />
              </FormField>
              <FormField id="description" label={<>Description <span className="font-normal text-muted-foreground">(optional)</span></>} errors={errors.description}>
                <Textarea {...fieldIds("description", errors.description)} name="description" rows={2} maxLength={500} />
              </FormField>
              <FormField
                id="metadata"
                label={<>Metadata <span className="font-normal text-muted-foreground">(optional)</span></>}
                errors={errors.metadata}
                hint={<>A JSON object returned with every verification, e.g. <code className="font-mono">{'{"plan": "pro", "team": "billing"}'}</code>. Never put secrets here.</>}
              >
                <Textarea {...fieldIds("metadata", errors.metadata, true)} name="metadata" rows={2} className="font-mono text-xs" spellCheck={false} placeholder='{"plan": "pro"}' />
              </FormField>
            </Section>

            <Section title="Permissions" description="Grant the least the app needs. You can grant only scopes your role holds.">
              <fieldset className="space-y-3" aria-describedby={errors.scopes?.length ? "scopes-error" : undefined}>
                <legend className="mb-3 text-sm font-medium leading-none">Scopes</legend>
                {grantableScopes.map((scope) => (
                  <div key={scope} className="flex items-start gap-3 rounded-md border p-3 has-[[data-state=checked]]:border-primary/50 has-[[data-state=checked]]:bg-accent/40">
                    <Checkbox id={`scope-${scope}`} name="scopes" value={scope} defaultChecked={scope === "read"} onCheckedChange={() => markEdited("scopes")} className="mt-0.5" />
                    <div className="grid gap-1">
                      <Label htmlFor={`scope-${scope}`} className="cursor-pointer font-mono">
                        {scope}
                      </Label>
                      <p className="text-[0.8rem] text-muted-foreground">{SCOPE_INFO[scope].description}</p>
                    </div>
                  </div>
                ))}
                <FieldErrors id="scopes" errors={errors.scopes} />
              </fieldset>
            </Section>

            <Section
              title="Expiry"
              description={maxTtlDays === null ? "Short-lived keys limit the damage a leaked key can do." : `This instance requires keys to expire within ${maxTtlDays} days.`}
            >
              <div className="grid gap-5 sm:grid-cols-2">
                <FormField id="expiry" label="Expires" errors={errors.expiry}>
                  <Select
                    name="expiry"
                    value={expiry}
                    onValueChange={(value) => {
                      setExpiry(value);
                      markEdited("expiry");
                    }}
                  >
                    <SelectTrigger {...fieldIds("expiry", errors.expiry)}>
                      <SelectValue>{expiryLabel(expiry)}</SelectValue>
                    </SelectTrigger>
                    <SelectContent>
                      {presets.map((days) => (
                        <SelectItem key={days} value={String(days)}>
                          {expiryLabel(String(days))}
                        </SelectItem>
                      ))}
                      {maxTtlDays === null ? <SelectItem value="never">Never</SelectItem> : null}
                      <SelectItem value="custom">On a date…</SelectItem>
                    </SelectContent>
                  </Select>
                </FormField>
                {expiry === "custom" ? (
                  <FormField id="expiresOn" label="Expiry date" errors={errors.expiresOn} hint="The key stops working at the end of this day, your time.">
                    <Input {...fieldIds("expiresOn", errors.expiresOn, true)} type="date" name="expiresOn" min={minDate} max={maxDate} required />
                  </FormField>
                ) : null}
              </div>
              {expiry === "never" ? (
                <p className="flex items-center gap-2 text-[0.8rem] text-warning">
                  <TriangleAlert className="h-3.5 w-3.5" aria-hidden /> A key that never expires stays valid until someone revokes it.
                </p>
              ) : null}
              <input type="hidden" name="tzOffset" value={tzOffset} />
            </Section>

            <Section title="Restrictions" description="Optional limits enforced on every request made with this key.">
              <FormField
                id="allowedIps"
                label={<>Allowed IP addresses <span className="font-normal text-muted-foreground">(optional)</span></>}
                hint={
                  allowlist.trim() === ""
                    ? "One IPv4/IPv6 address or CIDR range per line, e.g. 203.0.113.0/24. Leave empty to allow any address."
                    : `${validIpCount} valid ${validIpCount === 1 ? "entry" : "entries"}${liveIpErrors.length ? `, ${liveIpErrors.length} to fix` : ""}.`
                }
                errors={ipErrors}
              >
                <Textarea
                  {...fieldIds("allowedIps", ipErrors, true)}
                  name="allowedIps"
                  rows={4}
                  spellCheck={false}
                  value={allowlist}
                  onChange={(event) => setAllowlist(event.target.value)}
                  placeholder={"203.0.113.7\n198.51.100.0/24\n2001:db8::/32"}
                  className="font-mono"
                />
              </FormField>
              <fieldset className="space-y-2">
                <legend className="text-sm font-medium leading-none">
                  Rate limit <span className="font-normal text-muted-foreground">(optional)</span>
                </legend>
                <div className="grid grid-cols-[1fr_auto_1fr] items-start gap-2 pt-2">
                  <div className="space-y-2">
                    <Label htmlFor="rateLimitRequests" className="sr-only">
                      Requests
                    </Label>
                    <div className="relative">
                      <Input {...fieldIds("rateLimitRequests", errors.rateLimitRequests)} name="rateLimitRequests" inputMode="numeric" placeholder="1000" className="pr-20" />
                      <span className="pointer-events-none absolute right-3 top-2 text-sm text-muted-foreground">requests</span>
                    </div>
                    <FieldErrors id="rateLimitRequests" errors={errors.rateLimitRequests} />
                  </div>
                  <span className="pt-2 text-sm text-muted-foreground">per</span>
                  <div className="space-y-2">
                    <Label htmlFor="rateLimitWindow" className="sr-only">
                      Window in seconds
                    </Label>
                    <div className="relative">
                      <Input {...fieldIds("rateLimitWindow", errors.rateLimitWindow)} name="rateLimitWindow" inputMode="numeric" placeholder="60" className="pr-20" />
                      <span className="pointer-events-none absolute right-3 top-2 text-sm text-muted-foreground">seconds</span>
                    </div>
                    <FieldErrors id="rateLimitWindow" errors={errors.rateLimitWindow} />
                  </div>
                </div>
                <p className="text-[0.8rem] text-muted-foreground">Leave both empty to use the server’s default limit (KEYWARD_DEFAULT_RATE_LIMIT). Over the limit, requests get 429 with Retry-After.</p>
              </fieldset>
            </Section>

            <Section title="Recovery" description="By default nobody, not even Keyward, can show this key again.">
              <div className="flex items-start justify-between gap-4 rounded-md border p-4">
                <div className="space-y-1">
                  <Label htmlFor="recoverable">Recoverable</Label>
                  <p id="recoverable-hint" className="text-[0.8rem] text-muted-foreground">
                    Keep an encrypted copy so an admin can reveal the key later. Every reveal is audited.
                  </p>
                </div>
                <Switch id="recoverable" name="recoverable" value="on" aria-describedby="recoverable-hint" />
              </div>
            </Section>
          </CardContent>
          <CardFooter className="flex flex-col-reverse gap-2 border-t bg-muted/30 px-6 py-4 sm:flex-row sm:justify-end">
            <Button asChild variant="outline">
              <Link to="/keys">Cancel</Link>
            </Button>
            <Button type="submit" disabled={submitting}>
              {submitting ? <Loader2 className="animate-spin" aria-hidden /> : null}
              {submitting ? "Creating key…" : "Create key"}
            </Button>
          </CardFooter>
        </Form>
      </Card>
    </>
  );
}

export function ErrorBoundary() {
  return <RouteErrorBoundary />;
}
