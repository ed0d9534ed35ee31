import { Link, useFetcher, useSearchParams } from "@remix-run/react";
import { Loader2, RefreshCw } from "lucide-react";
import { useState } from "react";
import { Countdown } from "~/components/countdown";
import { Button } from "~/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "~/components/ui/dialog";
import { Label } from "~/components/ui/label";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { useActionToast } from "~/lib/use-action-toast";
import type { action, KeyView } from "./route";
import { SecretOnce } from "./secret-once";

const GRACE_CHOICES = [
  { seconds: 0, label: "None: the old key stops now" },
  { seconds: 300, label: "5 minutes" },
  { seconds: 3600, label: "1 hour" },
  { seconds: 86_400, label: "24 hours" },
  { seconds: 604_800, label: "7 days" },
] as const;

/** A grace period as the rotate dialog names it. */
export function formatGrace(seconds: number): string {
  return GRACE_CHOICES.find((choice) => choice.seconds === seconds)?.label ?? `${seconds} s`;
}

export function RotateDialog({ apiKey, now }: { apiKey: KeyView; now: string }) {
  const fetcher = useFetcher<typeof action>();
  // The keys list's "Rotate…" opens this page with ?rotate.
  const [search] = useSearchParams();
  const [open, setOpen] = useState(() => search.has("rotate"));
  const [grace, setGrace] = useState("3600");
  // Closing the dialog forgets the new key: it is shown once.
  const [dismissed, setDismissed] = useState<unknown>(null);
  const rotated = fetcher.data?.ok && fetcher.data.intent === "rotate" && fetcher.data !== dismissed ? fetcher.data : null;
  useActionToast(fetcher, { success: (data) => (data.intent === "rotate" ? `Rotated “${apiKey.name}”` : null), error: (data) => data.error });
  const submitting = fetcher.state !== "idle";
  return (
    <>
      <Button variant="outline" onClick={() => setOpen(true)}>
        <RefreshCw aria-hidden /> Rotate
      </Button>
      <Dialog
        open={open}
        onOpenChange={setOpen}
      >
        {/* Forgotten once the dialog has finished closing, so the closing dialog does not flash the form. */}
        <DialogContent className="sm:max-w-lg" onCloseAutoFocus={() => setDismissed(fetcher.data)}>
          {rotated ? (
            <>
              <DialogHeader>
                <DialogTitle>New key for “{rotated.name}”</DialogTitle>
                <DialogDescription>
                  Deploy it now. {rotated.oldExpiresAt ? <>The old key keeps working for <Countdown until={rotated.oldExpiresAt} serverNow={now} />.</> : null}
                </DialogDescription>
              </DialogHeader>
              <SecretOnce secret={rotated.secret} title="Copy this key now. It will not be shown again." />
              <DialogFooter className="gap-2">
                <Button variant="outline" onClick={() => setOpen(false)}>
                  Done
                </Button>
                <Button asChild>
                  <Link to={`/keys/${rotated.newKeyId}`}>Open the new key</Link>
                </Button>
              </DialogFooter>
            </>
          ) : (
            <fetcher.Form method="post" className="space-y-5">
              <DialogHeader>
                <DialogTitle>Rotate “{apiKey.name}”?</DialogTitle>
                <DialogDescription>A new key with the same settings is issued and shown once. The old key keeps working during the grace period, so you can deploy the new one without downtime.</DialogDescription>
              </DialogHeader>
              <input type="hidden" name="intent" value="rotate" />
              <div className="space-y-2">
                <Label htmlFor="grace">Grace period for the old key</Label>
                <Select name="gracePeriodSeconds" value={grace} onValueChange={setGrace}>
                  <SelectTrigger id="grace">
                    <SelectValue>{GRACE_CHOICES.find((choice) => String(choice.seconds) === grace)?.label}</SelectValue>
                  </SelectTrigger>
                  <SelectContent>
                    {GRACE_CHOICES.map((choice) => (
                      <SelectItem key={choice.seconds} value={String(choice.seconds)}>
                        {choice.label}
                      </SelectItem>
                    ))}
                  </SelectContent>
                </Select>
              </div>
              <DialogFooter className="gap-2">
                <Button type="button" variant="outline" onClick={() => setOpen(false)}>
                  Cancel
                </Button>
                <Button type="submit" disabled={submitting}>
                  {submitting ? <Loader2 className="animate-spin" aria-hidden /> : <RefreshCw aria-hidden />}
                  {submitting ? "Rotating…" : "Rotate key"}
                </Button>
              </DialogFooter>
            </fetcher.Form>
          )}
        </DialogContent>
      </Dialog>
    </>
  );
}
