import { useFetcher } from "@remix-run/react";
import { Loader2, type LucideIcon } from "lucide-react";
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
import type { action } from "./route";

/** One of the identity's bulk actions behind a confirmation that says how many keys it touches. */
export function BulkDialog({
  intent,
  label,
  icon: Icon,
  title,
  description,
  confirm,
  count,
  destructive = false,
}: {
  intent: "revoke-keys" | "disable-keys" | "delete";
  label: string;
  icon: LucideIcon;
  title: string;
  description: string;
  confirm: string;
  count: number | null;
  destructive?: boolean;
}) {
  const fetcher = useFetcher<typeof action>();
  const [open, setOpen] = useState(false);
  useActionToast(fetcher, { success: (data) => data.message, error: (data) => data.error });
  const pending = fetcher.state !== "idle";
  return (
    <>
      <Button variant="outline" className={destructive ? "text-destructive hover:bg-destructive/10 hover:text-destructive" : undefined} onClick={() => setOpen(true)} disabled={pending || count === 0}>
        {pending ? <Loader2 className="animate-spin" aria-hidden /> : <Icon aria-hidden />} {label}
      </Button>
      <AlertDialog open={open} onOpenChange={setOpen}>
        <AlertDialogContent>
          <AlertDialogHeader>
            <AlertDialogTitle>{title}</AlertDialogTitle>
            <AlertDialogDescription>{description}</AlertDialogDescription>
          </AlertDialogHeader>
          <AlertDialogFooter>
            <AlertDialogCancel>Cancel</AlertDialogCancel>
            <AlertDialogAction className={buttonVariants({ variant: destructive ? "destructive" : "default" })} onClick={() => fetcher.submit({ intent }, { method: "post" })}>
              {confirm}
            </AlertDialogAction>
          </AlertDialogFooter>
        </AlertDialogContent>
      </AlertDialog>
    </>
  );
}
