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
import type { action, ApiPageData } from "./route";

/** Deleting archives the API; the server refuses (409) while it has live keys, and says how many. */
export function DeleteApi({ api }: { api: ApiPageData["api"] }) {
  const fetcher = useFetcher<typeof action>();
  const [open, setOpen] = useState(false);
  useActionToast(fetcher, { success: () => null, error: (data) => (data.intent === "delete" ? data.error : null) });
  const live = api.keyCount.live;
  return (
    <>
      <Button variant="outline" className="text-destructive hover:bg-destructive/10 hover:text-destructive" onClick={() => setOpen(true)} disabled={fetcher.state !== "idle"}>
        {fetcher.state !== "idle" ? <Loader2 className="animate-spin" aria-hidden /> : <Trash2 aria-hidden />} Delete API
      </Button>
      <AlertDialog open={open} onOpenChange={setOpen}>
        <AlertDialogContent>
          <AlertDialogHeader>
            <AlertDialogTitle>Delete “{api.name}”?</AlertDialogTitle>
            <AlertDialogDescription>
              {live > 0
                ? `It still has ${live} live key${live === 1 ? "" : "s"}: Keyward refuses to delete an API whose keys may still verify. Revoke them first.`
                : "Its keys stay readable in the dashboard, and every verification of them answers INVALID. The prefix stays taken."}
            </AlertDialogDescription>
          </AlertDialogHeader>
          <AlertDialogFooter>
            <AlertDialogCancel>Cancel</AlertDialogCancel>
            <AlertDialogAction className={buttonVariants({ variant: "destructive" })} onClick={() => fetcher.submit({ intent: "delete" }, { method: "post" })}>
              Delete API
            </AlertDialogAction>
          </AlertDialogFooter>
        </AlertDialogContent>
      </AlertDialog>
    </>
  );
}
