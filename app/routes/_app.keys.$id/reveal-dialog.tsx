import { useFetcher } from "@remix-run/react";
import { Eye, Loader2 } from "lucide-react";
import { useState } from "react";
import {
  AlertDialog,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogHeader,
  AlertDialogTitle,
} from "~/components/ui/alert-dialog";
import { Button } from "~/components/ui/button";
import { useActionToast } from "~/lib/use-action-toast";
import type { action, KeyView } from "./route";
import { SecretOnce } from "./secret-once";

export function RevealDialog({ apiKey }: { apiKey: KeyView }) {
  const fetcher = useFetcher<typeof action>();
  const [open, setOpen] = useState(false);
  const [dismissed, setDismissed] = useState<unknown>(null);
  const revealed = fetcher.data?.ok && fetcher.data.intent === "reveal" && fetcher.data !== dismissed ? fetcher.data : null;
  useActionToast(fetcher, { success: () => null, error: (data) => data.error });
  return (
    <>
      <Button variant="outline" onClick={() => setOpen(true)}>
        <Eye aria-hidden /> Reveal
      </Button>
      <AlertDialog
        open={open}
        onOpenChange={setOpen}
      >
        <AlertDialogContent onCloseAutoFocus={() => setDismissed(fetcher.data)}>
          <AlertDialogHeader>
            <AlertDialogTitle>Reveal “{apiKey.name}”?</AlertDialogTitle>
            <AlertDialogDescription>The plaintext key is decrypted and shown here. Every reveal is recorded in the audit log with your name and address.</AlertDialogDescription>
          </AlertDialogHeader>
          {revealed ? <SecretOnce secret={revealed.secret} title="Treat this key as a password: anyone with it can act as its owner." /> : null}
          <AlertDialogFooter>
            <AlertDialogCancel>{revealed ? "Close" : "Cancel"}</AlertDialogCancel>
            {revealed ? null : (
              <Button onClick={() => fetcher.submit({ intent: "reveal" }, { method: "post" })} disabled={fetcher.state !== "idle"}>
                {fetcher.state !== "idle" ? <Loader2 className="animate-spin" aria-hidden /> : <Eye aria-hidden />} Reveal key
              </Button>
            )}
          </AlertDialogFooter>
        </AlertDialogContent>
      </AlertDialog>
    </>
  );
}
