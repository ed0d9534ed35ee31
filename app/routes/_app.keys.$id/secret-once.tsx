import { TriangleAlert } from "lucide-react";
import { CopyButton } from "~/components/copy-button";
import { Alert, AlertTitle } from "~/components/ui/alert";

/** A plaintext key shown once, with a button to copy it. */
export function SecretOnce({ secret, title }: { secret: string; title: string }) {
  return (
    <div className="space-y-3">
      <Alert variant="warning">
        <TriangleAlert className="h-4 w-4" aria-hidden />
        <AlertTitle>{title}</AlertTitle>
      </Alert>
      <div className="flex flex-col gap-2 sm:flex-row sm:items-start">
        <output data-testid="secret-once" className="block min-w-0 flex-1 select-all break-all rounded-md border bg-muted px-3 py-2 font-mono text-sm leading-relaxed">
          {secret}
        </output>
        <CopyButton value={secret} label="Copy key" size="default" className="shrink-0" />
      </div>
    </div>
  );
}
