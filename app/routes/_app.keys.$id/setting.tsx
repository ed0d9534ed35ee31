import { useFetcher } from "@remix-run/react";
import { Pencil } from "lucide-react";
import { useState, type ReactNode } from "react";
import { FieldErrors, SaveCancelButtons } from "~/components/form-field";
import { Button } from "~/components/ui/button";
import { useActionToast } from "~/lib/use-action-toast";
import type { action, Editable } from "./route";

/** A setting shown as text, with an Edit button that turns it into a small form saved on its own. */
export function Setting({ field, label, view, editor, disabled }: { field: Editable; label: string; view: ReactNode; editor: (errorId: string, hasError: boolean) => ReactNode; disabled?: boolean }) {
  const fetcher = useFetcher<typeof action>();
  const [editing, setEditing] = useState(false);
  const data = fetcher.data;
  const error = data && !data.ok && data.field === field && fetcher.state === "idle" ? data.error : null;
  useActionToast(fetcher, {
    success: () => `${label} saved`,
    // A refusal about the field shows under it.
    error: (refused) => (refused.field ? null : refused.error),
    onSuccess: () => setEditing(false),
  });
  const saving = fetcher.state !== "idle";
  const errorId = `${field}-error`;
  return (
    <div className="py-3 first:pt-0 last:pb-0" data-setting={field}>
      <div className="flex items-start justify-between gap-3">
        <p className="text-sm font-medium">{label}</p>
        {!editing && !disabled ? (
          <Button variant="ghost" size="sm" className="-mr-2 -mt-1 h-7 px-2 text-muted-foreground" onClick={() => setEditing(true)} aria-label={`Edit ${label}`}>
            <Pencil className="h-3.5 w-3.5" aria-hidden /> Edit
          </Button>
        ) : null}
      </div>
      {editing ? (
        <fetcher.Form method="post" className="mt-2 space-y-2" noValidate>
          <input type="hidden" name="intent" value="update" />
          <input type="hidden" name="field" value={field} />
          {editor(errorId, Boolean(error))}
          {error ? <FieldErrors id={field} errors={error.split("\n")} /> : null}
          <SaveCancelButtons saving={saving} onCancel={() => setEditing(false)} />
        </fetcher.Form>
      ) : (
        <div className="mt-1 text-sm text-muted-foreground">{view}</div>
      )}
    </div>
  );
}
