import { useFetcher } from "@remix-run/react";
import { Loader2 } from "lucide-react";
import { DefaultsFields, VocabularyFields } from "~/components/api-form-fields";
import { fieldIds, FormField } from "~/components/form-field";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "~/components/ui/card";
import { Input } from "~/components/ui/input";
import { useActionToast } from "~/lib/use-action-toast";
import { Section } from "~/routes/_app.keys.new/form-section";
import type { action, ApiPageData } from "./route";

/** Text of the implications, one `name: implied, implied` per line, as the form reads them back. */
function implicationsText(implications: Record<string, string[]>): string {
  return Object.entries(implications)
    .map(([name, implied]) => `${name}: ${implied.join(", ")}`)
    .join("\n");
}

/** Rename, the permission vocabulary with its implications, and the defaults of new keys, saved together. */
export function ApiSettings({ api }: { api: ApiPageData["api"] }) {
  const fetcher = useFetcher<typeof action>();
  const data = fetcher.data;
  const errors = data && !data.ok && fetcher.state === "idle" ? data.fieldErrors : {};
  const saving = fetcher.state !== "idle";
  useActionToast(fetcher, {
    success: () => "Settings saved",
    // Messages that belong to fields show by them.
    error: (refused) => (Object.keys(refused.fieldErrors).length > 0 ? null : refused.error),
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>Settings</CardTitle>
        <CardDescription>The prefix never changes: your keys carry it. A permission leaves the vocabulary only once no live key holds it.</CardDescription>
      </CardHeader>
      <fetcher.Form method="post" noValidate aria-label="API settings">
        <input type="hidden" name="intent" value="update" />
        <CardContent className="divide-y">
          <Section title="Name" description="Shown in the dashboard, audit log and verification answers.">
            <FormField id="name" label="Name" errors={errors.name}>
              <Input {...fieldIds("name", errors.name)} name="name" defaultValue={api.name} required maxLength={100} />
            </FormField>
          </Section>
          <VocabularyFields permissions={api.permissions.join("\n")} implications={implicationsText(api.implications)} errors={errors} />
          <DefaultsFields defaults={api.defaults} errors={errors} />
        </CardContent>
        <CardFooter className="flex justify-end border-t bg-muted/30 px-6 py-4">
          <Button type="submit" disabled={saving}>
            {saving ? <Loader2 className="animate-spin" aria-hidden /> : null}
            {saving ? "Saving…" : "Save settings"}
          </Button>
        </CardFooter>
      </fetcher.Form>
    </Card>
  );
}
