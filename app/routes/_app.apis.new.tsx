import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useNavigation } from "@remix-run/react";
import { ArrowLeft, Loader2, TriangleAlert } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { DefaultsFields, VocabularyFields } from "~/components/api-form-fields";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { fieldIds, FormField } from "~/components/form-field";
import { PageHeader } from "~/components/page-header";
import { Alert, AlertDescription, AlertTitle } from "~/components/ui/alert";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardFooter } from "~/components/ui/card";
import { Input } from "~/components/ui/input";
import { describeFailure } from "~/lib/action-errors.server";
import { readCreateApiForm } from "~/lib/api-form.server";
import { KEY_LENGTH, prefixProblem } from "~/lib/key-format";
import { readForm } from "~/lib/request.server";
import { requireUser } from "~/session.server";
import { Section } from "./_app.keys.new/form-section";

export const meta: MetaFunction = () => [{ title: "Create API · Keyward" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  return null;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { actor } = await requireUser(request, context);
  const read = readCreateApiForm(await readForm(request));
  if (!read.ok) return json({ formError: null, fieldErrors: read.fieldErrors }, { status: 400 });
  try {
    const api = await context.keyward.apis.create(actor, read.value);
    return redirect(`/apis/${api.id}`);
  } catch (error) {
    const failure = describeFailure(error);
    const fieldErrors = failure.fieldErrors;
    return json({ formError: Object.keys(fieldErrors).length > 0 ? null : failure.error, fieldErrors }, { status: failure.status });
  }
}

/** The shape of a key of this prefix: the prefix, then random characters and checksum up to 64 in all. */
export function KeyPreview({ prefix }: { prefix: string }) {
  const shown = prefix || "prefix";
  const rest = Math.max(KEY_LENGTH - shown.length - 1, 0);
  return (
    <div className="space-y-1.5 rounded-md border bg-muted/50 p-3" aria-live="polite">
      <p className="text-xs font-medium text-muted-foreground">A key of this API looks like</p>
      <p className="break-all font-mono text-xs leading-relaxed" data-testid="key-preview">
        <span className="font-semibold text-foreground">{shown}_</span>
        <span className="text-muted-foreground">{"X".repeat(rest)}</span>
      </p>
      <p className="text-xs text-muted-foreground">
        {KEY_LENGTH} characters whatever the prefix: {shown.length + 1} of prefix, {rest} random with a 6-character checksum.
      </p>
    </div>
  );
}

export default function NewApi() {
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const submitting = navigation.state === "submitting";
  const [prefix, setPrefix] = useState("");
  const formRef = useRef<HTMLFormElement>(null);
  const errors = result?.fieldErrors ?? {};
  const liveProblem = prefix ? prefixProblem(prefix) : null;
  const prefixErrors = [...new Set([...(liveProblem ? [liveProblem] : []), ...(errors.prefix ?? [])])];

  useEffect(() => {
    if (result) formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [result]);

  return (
    <>
      <PageHeader
        title="Create API"
        description="A service you protect: its keys share a prefix, permissions come from its vocabulary."
        actions={
          <Button asChild variant="ghost">
            <Link to="/apis">
              <ArrowLeft aria-hidden /> Back to APIs
            </Link>
          </Button>
        }
      />
      <Card>
        <Form method="post" ref={formRef} noValidate>
          <CardContent className="divide-y p-6">
            {result?.formError ? (
              <div className="pb-6">
                <Alert variant="destructive" id="form-error">
                  <TriangleAlert className="h-4 w-4" aria-hidden />
                  <AlertTitle>The API was not created</AlertTitle>
                  <AlertDescription>{result.formError}</AlertDescription>
                </Alert>
              </div>
            ) : null}
            <Section title="Details" description="The prefix tells your keys apart from everyone else's, and cannot change later.">
              <FormField id="name" label="Name" errors={errors.name} hint="For example “Acme public API (production)”.">
                <Input {...fieldIds("name", errors.name, true)} name="name" required maxLength={100} autoComplete="off" autoFocus />
              </FormField>
              <FormField id="prefix" label="Key prefix" errors={prefixErrors} hint="2–12 lower-case letters and digits, optionally in _ segments: acme, acme_live. “kw” is Keyward's own.">
                <Input
                  {...fieldIds("prefix", prefixErrors, true)}
                  name="prefix"
                  required
                  maxLength={12}
                  autoComplete="off"
                  spellCheck={false}
                  className="font-mono"
                  value={prefix}
                  onChange={(event) => setPrefix(event.target.value.trim())}
                  placeholder="acme_live"
                />
              </FormField>
              <KeyPreview prefix={prefix} />
            </Section>
            <VocabularyFields permissions={"read\nwrite\nadmin"} implications={"admin: write\nwrite: read"} errors={errors} />
            <DefaultsFields defaults={{}} errors={errors} />
          </CardContent>
          <CardFooter className="flex flex-col-reverse gap-2 border-t bg-muted/30 px-6 py-4 sm:flex-row sm:justify-end">
            <Button asChild variant="outline">
              <Link to="/apis">Cancel</Link>
            </Button>
            <Button type="submit" disabled={submitting}>
              {submitting ? <Loader2 className="animate-spin" aria-hidden /> : null}
              {submitting ? "Creating API…" : "Create API"}
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
