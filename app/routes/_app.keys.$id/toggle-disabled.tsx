import { useFetcher } from "@remix-run/react";
import { Ban, CirclePlay, Loader2 } from "lucide-react";
import { Button } from "~/components/ui/button";
import { useActionToast } from "~/lib/use-action-toast";
import type { action, KeyView } from "./route";

export function ToggleDisabled({ apiKey }: { apiKey: KeyView }) {
  const fetcher = useFetcher<typeof action>();
  useActionToast(fetcher, {
    success: (data) => (data.intent === "disable" ? `Disabled “${apiKey.name}”` : data.intent === "enable" ? `Enabled “${apiKey.name}”` : null),
    error: (data) => data.error,
  });
  const pending = fetcher.state !== "idle";
  const intent = apiKey.disabledAt ? "enable" : "disable";
  return (
    <Button variant="outline" disabled={pending} onClick={() => fetcher.submit({ intent }, { method: "post" })}>
      {pending ? <Loader2 className="animate-spin" aria-hidden /> : intent === "enable" ? <CirclePlay aria-hidden /> : <Ban aria-hidden />}
      {intent === "enable" ? "Enable" : "Disable"}
    </Button>
  );
}
