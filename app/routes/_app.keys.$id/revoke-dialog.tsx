import { useFetcher } from "@remix-run/react";
import { Loader2, Trash2 } from "lucide-react";
import { useState } from "react";
import {
  AlertDialog,
  AlertDialogAction,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogHeader,
  AlertDialogTitle,
} from "~/components/ui/alert-dialog";
import { Button, buttonVariants } from "~/components/ui/button";
import { useActionToast } from "~/lib/use-action-toast";
import type { action, KeyView } from "./route";

export function ConfirmRevoke({ apiKey }: { apiKey: KeyView }) {
  const fetcher = useFetcher<typeof action>();
  const [open, setOpen] = useState(false);
  useActionToast(fetcher, { success: (data) => (data.intent === "revoke" ? `Revoked “${apiKey.name}”` : null), error: (data) => data.error });
  return (
    <>
      {apiKey.status !== "revoked" ? (
        <Button variant="outline" className="text-destructive hover:bg-destructive/10 hover:text-destructive" onClick={() => setOpen(true)} disabled={fetcher.state !== "idle"}>
          {fetcher.state !== "idle" ? <Loader2 className="animate-spin" aria-hidden /> : <Trash2 aria-hidden />} Revoke
        </Button>
      ) : null}
      <AlertDialog open={open} onOpenChange={setOpen}>
        <AlertDialogContent>
          <AlertDialogHeader>
            <AlertDialogTitle>Revoke “{apiKey.name}”?</AlertDialogTitle>
            <AlertDialogDescription>
              Requests using <span className="font-mono text-foreground">{apiKey.start}…{apiKey.last4}</span> will be refused with 401 from now on, on every instance within a second.
              Revoking is permanent: the key cannot be enabled again.
            </AlertDialogDescription>
          </AlertDialogHeader>
          <AlertDialogFooter>
            <AlertDialogCancel>Cancel</AlertDialogCancel>
            <AlertDialogAction className={buttonVariants({ variant: "destructive" })} onClick={() => fetcher.submit({ intent: "revoke" }, { method: "post" })}>
              Revoke key
            </AlertDialogAction>
          </AlertDialogFooter>
        </AlertDialogContent>
      </AlertDialog>
    </>
  );
}
