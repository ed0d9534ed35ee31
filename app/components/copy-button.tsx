import { Check, Copy } from "lucide-react";
import { useEffect, useState } from "react";
import { toast } from "sonner";
import { Button, type ButtonProps } from "~/components/ui/button";

/** Copies `value` to the clipboard and says "Copied" for a moment. */
export function CopyButton({ value, label = "Copy", copiedLabel = "Copied", ...props }: { value: string; label?: string; copiedLabel?: string } & Omit<ButtonProps, "value" | "onClick">) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <Button
      type="button"
      variant="outline"
      size="sm"
      {...props}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(value);
          setCopied(true);
        } catch {
          toast.error("Could not copy: your browser blocked clipboard access. Select the text and copy it instead.");
        }
      }}
    >
      {copied ? <Check className="text-success" aria-hidden /> : <Copy aria-hidden />}
      <span aria-live="polite">{copied ? copiedLabel : label}</span>
    </Button>
  );
}
