import { KeyRound } from "lucide-react";
import { cn } from "~/lib/utils";

export function Logo({ className }: { className?: string }) {
  return (
    <span className={cn("flex items-center gap-2 font-semibold tracking-tight", className)}>
      <span className="flex h-7 w-7 items-center justify-center rounded-md bg-primary text-primary-foreground">
        <KeyRound className="h-4 w-4" aria-hidden />
      </span>
      Keyward
    </span>
  );
}
