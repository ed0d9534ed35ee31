import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { ArrowLeft, Loader2, TriangleAlert } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { PageHeader } from "~/components/page-header";
import { Alert, AlertDescription, AlertTitle } from "~/components/ui/alert";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardFooter } from "~/components/ui/card";
import { describeFailure } from "~/lib/action-errors.server";
import { formText, parseAllowedIps, parseExpiry, parseRateLimit, type FieldErrorMap, type FormPart } from "~/lib/key-form.server";
import { createKeyInput, EXPIRY_PRESET_DAYS } from "~/lib/key-schemas";
import { ROLE_SCOPES } from "~/lib/scopes";
import { requireUser } from "~/session.server";
import { readForm } from "~/lib/request.server";
import { CreatedKey } from "./created-key";
import { DetailsSection } from "./details-section";
import { ExpirySection } from "./expiry-section";
import { PermissionsSection } from "./permissions-section";
import { ApisSection } from "./apis-section";
import { RecoverySection } from "./recovery-section";
import { RestrictionsSection } from "./restrictions-section";

export const meta: MetaFunction = () => [{ title: "Create API key · Keyward" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { user, actor } = await requireUser(request, context);
  const { config } = context.keyward;
  const maxTtlDays = config.maxKeyTtlDays ?? null;
  const apis = await context.keyward.apis.list(actor, { limit: 100 });
  return json({
    apis: apis.data.map((api) => ({ id: api.id, name: api.name, prefix: api.prefix })),
    grantableScopes: ROLE_SCOPES[user.role],
    presets: EXPIRY_PRESET_DAYS.filter((days) => maxTtlDays === null || days <= maxTtlDays),
    maxTtlDays,
    origin: config.origin ?? new URL(request.url).origin,
    now: context.keyward.clock.now().toISOString(),
  });
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { caller } = await requireUser(request, context);
  const form = await readForm(request);
  const text = (name: string) => formText(form, name);
  const fieldErrors: FieldErrorMap = {};
  const add = (field: string, message: string) => (fieldErrors[field] ??= []).push(message);
  /** A part's value, or undefined with its messages added to the form's. */
  const read = <T,>(part: FormPart<T>): T | undefined => {
    if (part.ok) return part.value;
    for (const [field, messages] of Object.entries(part.errors)) messages.forEach((message) => add(field, message));
    return undefined;
  };

  const expiryField = text("expiry") === "custom" ? "expiresOn" : "expiry";
  const expiry = read(parseExpiry(form, context.keyward.clock.now()));
  const allowedIps = read(parseAllowedIps(form));

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

  const rateLimit = read(parseRateLimit(form, { requests: "rateLimitRequests", windowSeconds: "rateLimitWindow" })) ?? null;

  const parsed = createKeyInput.safeParse({
    name: text("name"),
    description: text("description").trim() || undefined,
    scopes: form.getAll("scopes").filter((scope): scope is string => typeof scope === "string"),
    ...expiry,
    allowedIps: allowedIps ?? [],
    rateLimit,
    recoverable: text("recoverable") === "on",
    ...(form.getAll("apiIds").length > 0 && { apiIds: form.getAll("apiIds") }),
    ...(metadata !== undefined ? { metadata } : {}),
  });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const [head, second] = issue.path;
      if (head === "rateLimit" && second === "requests") add("rateLimitRequests", issue.message);
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

export default function NewKey() {
  const { apis, grantableScopes, presets, maxTtlDays, origin, now } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const submitting = navigation.state === "submitting" && navigation.formMethod?.toLowerCase() === "post";

  const defaultExpiry = presets.includes(90) ? "90" : presets.length > 0 ? String(presets[presets.length - 1]) : "custom";
  const [expiry, setExpiry] = useState<string>(defaultExpiry);
  const [allowlist, setAllowlist] = useState("");
  const formRef = useRef<HTMLFormElement>(null);

  // "Create another key" starts from a clean form.
  useEffect(() => {
    if (!result?.ok) return;
    setAllowlist("");
    setExpiry(defaultExpiry);
  }, [result, defaultExpiry]);

  // A field's server error stays until the user edits that field.
  const [edited, setEdited] = useState<{ result: unknown; fields: ReadonlySet<string> }>({ result: undefined, fields: new Set() });
  const editedFields = edited.result === result ? edited.fields : new Set<string>();
  const markEdited = (field: string) => {
    if (!editedFields.has(field)) setEdited({ result, fields: new Set([...editedFields, field]) });
  };
  const errors: FieldErrorMap = Object.fromEntries(Object.entries(result && !result.ok ? result.fieldErrors : {}).filter(([field]) => !editedFields.has(field)));

  useEffect(() => {
    if (!result || result.ok) return;
    const first = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    first?.focus();
  }, [result]);

  if (result?.ok) return <CreatedKey created={result} origin={origin} now={now} />;

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

            <DetailsSection errors={errors} />
            <PermissionsSection grantableScopes={grantableScopes} errors={errors} markEdited={markEdited} />
            <ExpirySection
              expiry={expiry}
              onExpiryChange={(value) => {
                setExpiry(value);
                markEdited("expiry");
              }}
              presets={presets}
              maxTtlDays={maxTtlDays}
              now={now}
              errors={errors}
            />
            <RestrictionsSection
              allowlist={allowlist}
              onAllowlistChange={setAllowlist}
              errors={errors}
              rateLimitHint="Leave both empty to use the server’s default limit (KEYWARD_DEFAULT_RATE_LIMIT). Over the limit, requests get 429 with Retry-After."
            />
            {apis.length > 0 ? <ApisSection apis={apis} errors={errors} /> : null}
            <RecoverySection />
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