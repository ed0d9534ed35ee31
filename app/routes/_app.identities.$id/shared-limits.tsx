import { useFetcher } from "@remix-run/react";
import { Pencil } from "lucide-react";
import { useState } from "react";
import { FieldErrors, SaveCancelButtons } from "~/components/form-field";
import { NamedLimitsList, RatelimitsEditor, type NamedLimit } from "~/components/ratelimits-editor";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { useActionToast } from "~/lib/use-action-toast";
import type { action } from "./route";

/** The identity's limits, shared by all its keys: shown, and edited as a whole (audited as identity.updated). */
export function SharedLimits({ limits }: { limits: NamedLimit[] }) {
  const fetcher = useFetcher<typeof action>();
  const [editing, setEditing] = useState(false);
  const saving = fetcher.state !== "idle";
  const data = fetcher.data;
  // The identity page's action answers a refused edit with the messages for the editor.
  const errors = data && !data.ok && "fieldErrors" in data && fetcher.state === "idle" ? (data.fieldErrors as string[]) : undefined;
  useActionToast(fetcher, {
    success: (answer) => answer.message,
    error: (refused) => ("fieldErrors" in refused ? null : refused.error),
    onSuccess: () => setEditing(false),
  });
  return (
    <Card data-shared-limits>
      <CardHeader className="flex-row items-start justify-between gap-3 space-y-0 pb-3">
        <div className="space-y-1.5">
          <CardTitle>Shared rate limits</CardTitle>
          <CardDescription>Every verification of any of this customer’s keys counts against them, next to each key’s own limits.</CardDescription>
        </div>
        {!editing ? (
          <Button variant="ghost" size="sm" className="-mr-2 -mt-1 h-7 px-2 text-muted-foreground" onClick={() => setEditing(true)} aria-label="Edit shared rate limits">
            <Pencil className="h-3.5 w-3.5" aria-hidden /> Edit
          </Button>
        ) : null}
      </CardHeader>
      <CardContent className="text-sm text-muted-foreground">
        {editing ? (
          <fetcher.Form method="post" className="space-y-2" noValidate>
            <input type="hidden" name="intent" value="ratelimits" />
            <RatelimitsEditor initial={limits} idPrefix="identity-ratelimits" errorId="identity-ratelimits-error" hasError={Boolean(errors?.length)} autoFocus />
            <FieldErrors id="identity-ratelimits" errors={errors} />
            <SaveCancelButtons saving={saving} onCancel={() => setEditing(false)} />
          </fetcher.Form>
        ) : (
          <NamedLimitsList limits={limits} empty="None: only each key’s own limits apply." />
        )}
      </CardContent>
    </Card>
  );
}
