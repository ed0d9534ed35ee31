import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { ArrowLeft, CircleCheck, Loader2, TriangleAlert } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { CopyButton } from "~/components/copy-button";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { SuggestInput } from "~/components/suggest-input";
import { fieldIds, FieldErrors, FormField } from "~/components/form-field";
import { PageHeader } from "~/components/page-header";
import { Alert, AlertDescription, AlertTitle } from "~/components/ui/alert";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "~/components/ui/card";
import { Checkbox } from "~/components/ui/checkbox";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { Switch } from "~/components/ui/switch";
import { Textarea } from "~/components/ui/textarea";
import { describeFailure } from "~/lib/action-errors.server";
import { formText, issueMessage, parseAllowedIps, parseCredits, parseExpiry, parseNamedLimits, type FieldErrorMap, type FormPart } from "~/lib/key-form.server";
import { createIssuedKeyInput, EXPIRY_PRESET_DAYS, REQUESTS_LIMIT_NAME } from "~/lib/key-schemas";
import { RatelimitsEditor, type NamedLimit } from "~/components/ratelimits-editor";
import { findApi } from "~/lib/pages.server";
import { readForm } from "~/lib/request.server";
import { requireUser } from "~/session.server";
import { ExpirySection } from "../_app.keys.new/expiry-section";
import { Section } from "../_app.keys.new/form-section";
import { RestrictionsSection } from "../_app.keys.new/restrictions-section";
import { CreditsFields } from "../_app.keys.$id/settings-panel";
import { VerifySnippet } from "./verify-snippet";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Issue key · ${data?.api.name ?? "API"} · Keyward` }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { actor } = await requireUser(request, context);
  const api = await findApi(context, actor, params.id);
  if (api.archivedAt) throw new Response("This API is deleted; it takes no new keys.", { status: 404 });
  const identities = await context.keyward.identities.list(actor, { apiId: api.id, limit: 100 });
  const maxTtlDays = api.defaults.maxTtlDays ?? null;
  const presets = [...new Set([...EXPIRY_PRESET_DAYS, ...(api.defaults.expiresInDays ? [api.defaults.expiresInDays] : [])])].filter((days) => maxTtlDays === null || days <= maxTtlDays).sort((a, b) => a - b);
  return json({
    api: { id: api.id, name: api.name, prefix: api.prefix, permissions: api.permissions, defaults: api.defaults },
    externalIds: identities.data.map((identity) => identity.externalId),
    presets,
    maxTtlDays,
    origin: context.keyward.config.origin ?? new URL(request.url).origin,
    now: context.keyward.clock.now().toISOString(),
  });
}

/** The form's fields as createIssuedKeyInput's input, or messages by field. */
function readIssueForm(form: FormData, now: Date, vocabulary: string[]): FormPart<unknown> {
  const errors: FieldErrorMap = {};
  const add = (field: string, message: string) => (errors[field] ??= []).push(message);
  const read = <T,>(part: FormPart<T>): T | undefined => {
    if (part.ok) return part.value;
    for (const [field, messages] of Object.entries(part.errors)) messages.forEach((message) => add(field, message));
    return undefined;
  };
  const expiry = read(parseExpiry(form, now));
  const allowedIps = read(parseAllowedIps(form));
  const ratelimits = read(parseNamedLimits(form));
  const credits = read(parseCredits(form));
  let meta: unknown;
  const metaText = formText(form, "meta").trim();
  if (metaText) {
    try {
      meta = JSON.parse(metaText);
      if (meta === null || typeof meta !== "object" || Array.isArray(meta)) add("meta", 'Metadata must be a JSON object (in braces), e.g. {"plan": "pro"}');
    } catch {
      add("meta", 'Metadata must be valid JSON, e.g. {"plan": "pro"}');
    }
  }
  const checked = form.getAll("permissions").filter((value): value is string => typeof value === "string" && vocabulary.includes(value));
  const typed = formText(form, "grants").split(/[\s,]+/).filter(Boolean);
  const externalId = formText(form, "externalId");
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      ...(formText(form, "name").trim() && { name: formText(form, "name") }),
      ...(externalId.trim() && { externalId }),
      permissions: [...checked, ...typed],
      ...expiry,
      ...(allowedIps && allowedIps.length > 0 && { allowedIps }),
      ...(ratelimits && { ratelimits }),
      ...(credits && { credits }),
      ...(meta !== undefined && { meta }),
      recoverable: formText(form, "recoverable") === "on",
    },
  };
}

/** Where a schema or service message is shown. */
function fieldFor(field: string, expiryField: string): string {
  if (field === "expiresAt" || field === "expiresInDays") return expiryField;
  if (field === "rateLimit") return "ratelimits";
  if (field === "permissions") return "grants";
  if (field === "identityId") return "externalId";
  return field;
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const { actor } = await requireUser(request, context);
  const api = await findApi(context, actor, params.id);
  const form = await readForm(request);
  const expiryField = formText(form, "expiry") === "custom" ? "expiresOn" : "expiry";
  const fieldErrors: FieldErrorMap = {};
  const add = (field: string, message: string) => {
    const messages = (fieldErrors[field] ??= []);
    if (!messages.includes(message)) messages.push(message);
  };
  const read = readIssueForm(form, context.keyward.clock.now(), api.permissions);
  if (!read.ok) for (const [field, messages] of Object.entries(read.errors)) messages.forEach((message) => add(field, message));
  const parsed = createIssuedKeyInput.safeParse(read.ok ? read.value : {});
  if (read.ok && !parsed.success) {
    for (const issue of parsed.error.issues) add(fieldFor(typeof issue.path[0] === "string" ? issue.path[0] : "form", expiryField), issueMessage(issue));
  }
  if (!read.ok || !parsed.success) return json({ ok: false as const, formError: null, fieldErrors }, { status: 400 });
  try {
    const { key, apiKey } = await context.keyward.keys.createIssued(actor, api.id, parsed.data);
    // The plaintext key leaves the server in this response body only: never a URL, a redirect or a log.
    return json(
      { ok: true as const, key, apiKey: { id: apiKey.id, name: apiKey.name, apiId: api.id, identityId: apiKey.identityId, permissions: apiKey.permissions, expiresAt: apiKey.expiresAt } },
      { headers: { "Cache-Control": "no-store" } },
    );
  } catch (error) {
    const failure = describeFailure(error);
    for (const [field, messages] of Object.entries(failure.fieldErrors)) messages.forEach((message) => add(fieldFor(field, expiryField), message));
    return json({ ok: false as const, formError: Object.keys(fieldErrors).length > 0 ? null : failure.error, fieldErrors }, { status: failure.status });
  }
}

/** The limits a new key starts with: its API's default rate limit, as the limit named "requests". */
function initialLimits(api: { defaults: { rateLimit?: { requests: number; windowSeconds: number } } }): NamedLimit[] {
  const limit = api.defaults.rateLimit;
  return limit ? [{ name: REQUESTS_LIMIT_NAME, limit: limit.requests, durationSeconds: limit.windowSeconds }] : [];
}

type Created = Extract<NonNullable<ReturnType<typeof useActionData<typeof action>>>, { ok: true }>;

function IssuedKey({ created, apiName, origin }: { created: Created; apiName: string; origin: string }) {
  const { key, apiKey } = created;
  return (
    <Card className="mx-auto max-w-4xl">
      <CardHeader>
        <div className="flex items-center gap-3">
          <span className="flex h-9 w-9 items-center justify-center rounded-full bg-success/10">
            <CircleCheck className="h-5 w-5 text-success" aria-hidden />
          </span>
          <div className="space-y-1">
            <CardTitle className="text-xl">Key issued</CardTitle>
            <CardDescription>
              “{apiKey.name}” is a key of {apiName}. Hand it to your customer; your service verifies it.
            </CardDescription>
          </div>
        </div>
      </CardHeader>
      <CardContent className="space-y-6">
        <Alert variant="warning">
          <TriangleAlert className="h-4 w-4" aria-hidden />
          <AlertTitle>Copy this key now. It will not be shown again.</AlertTitle>
          <AlertDescription className="text-muted-foreground">Keyward stores only a one-way digest of it. If it is lost, revoke it and issue a new one.</AlertDescription>
        </Alert>
        <div className="space-y-2">
          <Label htmlFor="new-key">The new key</Label>
          <div className="flex flex-col gap-2 sm:flex-row sm:items-start">
            <output id="new-key" data-testid="new-key" className="block min-w-0 flex-1 select-all break-all rounded-md border bg-muted px-3 py-2 font-mono text-sm leading-relaxed">
              {key}
            </output>
            <CopyButton value={key} label="Copy key" size="default" className="shrink-0" />
          </div>
          <div className="flex flex-wrap items-center gap-1.5 pt-1 text-xs text-muted-foreground">
            Permissions:
            {apiKey.permissions.length === 0
              ? " none"
              : apiKey.permissions.map((permission) => (
                  <Badge key={permission} variant="outline" className="font-mono font-medium">
                    {permission}
                  </Badge>
                ))}
          </div>
        </div>
        <VerifySnippet origin={origin} created={{ key, apiId: apiKey.apiId, permissions: apiKey.permissions }} />
      </CardContent>
      <CardFooter className="flex flex-col-reverse gap-2 border-t pt-6 sm:flex-row sm:justify-end">
        {apiKey.identityId ? (
          <Button asChild variant="outline">
            <Link to={`/identities/${apiKey.identityId}`}>Open identity</Link>
          </Button>
        ) : null}
        <Button asChild variant="outline">
          <Link to={`/apis/${apiKey.apiId}/keys/new`} replace>
            Issue another key
          </Link>
        </Button>
        <Button asChild>
          <Link to={`/apis/${apiKey.apiId}`}>Done</Link>
        </Button>
      </CardFooter>
    </Card>
  );
}

export default function IssueKey() {
  const { api, externalIds, presets, maxTtlDays, origin, now } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const submitting = navigation.state === "submitting";
  const defaultExpiry = api.defaults.expiresInDays ? String(api.defaults.expiresInDays) : maxTtlDays === null ? "never" : String(presets.at(-1) ?? "custom");
  const [expiry, setExpiry] = useState(defaultExpiry);
  const [allowlist, setAllowlist] = useState(api.defaults.allowedIps?.join("\n") ?? "");
  const formRef = useRef<HTMLFormElement>(null);
  const errors: FieldErrorMap = result && !result.ok ? result.fieldErrors : {};

  useEffect(() => {
    if (result && !result.ok) formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [result]);

  if (result?.ok) return <IssuedKey created={result} apiName={api.name} origin={origin} />;

  return (
    <>
      <PageHeader
        title="Issue key"
        description={
          <>
            A key of {api.name}, shaped <code className="font-mono">{api.prefix}_…</code>, shown once after it is issued.
          </>
        }
        actions={
          <Button asChild variant="ghost">
            <Link to={`/apis/${api.id}`}>
              <ArrowLeft aria-hidden /> Back to {api.name}
            </Link>
          </Button>
        }
      />
      <Card>
        <Form method="post" ref={formRef} noValidate>
          <CardContent className="divide-y p-6">
            {result && !result.ok && result.formError ? (
              <div className="pb-6">
                <Alert variant="destructive">
                  <TriangleAlert className="h-4 w-4" aria-hidden />
                  <AlertTitle>The key was not issued</AlertTitle>
                  <AlertDescription>{result.formError}</AlertDescription>
                </Alert>
              </div>
            ) : null}
            <Section title="Customer" description="Who the key is for, by your own id for them. A new id creates the identity; an existing one adds a key to it.">
              <FormField id="externalId" label={<>External id <span className="font-normal text-muted-foreground">(optional)</span></>} errors={errors.externalId} hint={externalIds.length > 0 ? `${externalIds.length} existing: pick one from the list (arrow keys or the button) or type a new one.` : "For example your customer's account id, user_123."}>
                <SuggestInput {...fieldIds("externalId", errors.externalId, true)} name="externalId" suggestions={externalIds} listLabel="Existing external ids" spellCheck={false} className="font-mono" autoFocus />
              </FormField>
              <FormField id="name" label={<>Name <span className="font-normal text-muted-foreground">(optional)</span></>} errors={errors.name} hint="Defaults to the external id.">
                <Input {...fieldIds("name", errors.name, true)} name="name" maxLength={100} autoComplete="off" />
              </FormField>
              <FormField id="meta" label={<>Metadata <span className="font-normal text-muted-foreground">(optional)</span></>} errors={errors.meta} hint="A JSON object returned with every verification of this key. Never put secrets here.">
                <Textarea {...fieldIds("meta", errors.meta, true)} name="meta" rows={2} className="font-mono text-xs" spellCheck={false} placeholder='{"plan": "pro"}' />
              </FormField>
            </Section>
            <Section title="Permissions" description="What your service may allow this key to do. Verification checks them.">
              <fieldset className="space-y-2">
                <legend className="mb-3 text-sm font-medium leading-none">From the vocabulary of {api.name}</legend>
                <div className="grid gap-2 sm:grid-cols-2">
                  {api.permissions.map((permission) => (
                    <div key={permission} className="flex items-center gap-3 rounded-md border p-2.5 has-[[data-state=checked]]:border-primary/50 has-[[data-state=checked]]:bg-accent/40">
                      <Checkbox id={`permission-${permission}`} name="permissions" value={permission} />
                      <Label htmlFor={`permission-${permission}`} className="cursor-pointer break-all font-mono font-normal">
                        {permission}
                      </Label>
                    </div>
                  ))}
                </div>
              </fieldset>
              <FormField id="grants" label={<>Wildcards and other grants <span className="font-normal text-muted-foreground">(optional)</span></>} errors={errors.grants} hint="Separated by spaces or commas, e.g. orders.* or * for everything.">
                <Input {...fieldIds("grants", errors.grants, true)} name="grants" autoComplete="off" spellCheck={false} className="font-mono" placeholder="orders.*" />
              </FormField>
              <FieldErrors id="permissions" errors={errors.permissions} />
            </Section>
            <ExpirySection expiry={expiry} onExpiryChange={setExpiry} presets={presets} maxTtlDays={maxTtlDays} now={now} errors={errors} />
            <RestrictionsSection
              allowlist={allowlist}
              onAllowlistChange={setAllowlist}
              errors={errors}
              rateLimits={
                <fieldset className="space-y-2">
                  <legend className="text-sm font-medium leading-none">
                    Rate limits <span className="font-normal text-muted-foreground">(optional)</span>
                  </legend>
                  <p className="text-[0.8rem] text-muted-foreground">
                    {api.defaults.rateLimit ? `Starts from the default of ${api.name}. ` : ""}Over any limit, verification answers RATE_LIMITED and names it. The customer's identity may add shared limits.
                  </p>
                  <RatelimitsEditor initial={initialLimits(api)} idPrefix="ratelimits" errorId="ratelimits-error" hasError={Boolean(errors.ratelimits?.length)} />
                  <FieldErrors id="ratelimits" errors={errors.ratelimits} />
                </fieldset>
              }
            />
            <Section title="Credits" description="Usage credits: each valid verification takes its cost (default 1); none left is USAGE_EXCEEDED. Leave empty for unlimited.">
              <CreditsFields credits={null} />
              <FieldErrors id="credits" errors={[...(errors.credits ?? []), ...(errors.refillAmount ?? []), ...(errors.refillDay ?? [])]} />
            </Section>
            <Section title="Recovery" description="By default nobody, not even Keyward, can show this key again.">
              <div className="flex items-start justify-between gap-4 rounded-md border p-4">
                <div className="space-y-1">
                  <Label htmlFor="recoverable">Recoverable</Label>
                  <p id="recoverable-hint" className="text-[0.8rem] text-muted-foreground">
                    Keep an encrypted copy so an admin can reveal the key later. Every reveal is audited.
                  </p>
                </div>
                <Switch id="recoverable" name="recoverable" value="on" defaultChecked={api.defaults.recoverable ?? false} aria-describedby="recoverable-hint" />
              </div>
            </Section>
          </CardContent>
          <CardFooter className="flex flex-col-reverse gap-2 border-t bg-muted/30 px-6 py-4 sm:flex-row sm:justify-end">
            <Button asChild variant="outline">
              <Link to={`/apis/${api.id}`}>Cancel</Link>
            </Button>
            <Button type="submit" disabled={submitting}>
              {submitting ? <Loader2 className="animate-spin" aria-hidden /> : null}
              {submitting ? "Issuing key…" : "Issue key"}
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
