import type { LiveStatus } from "~/lib/use-live-events";
import { cn } from "~/lib/utils";

const LABELS: Record<LiveStatus, string> = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" };
const HINTS: Record<LiveStatus, string> = {
  connecting: "Opening the live connection",
  live: "Changes and usage appear here as they happen",
  reconnecting: "Offline: the page is not updating; reconnecting",
};

/** Whether the page is receiving live updates. */
export function LiveIndicator({ status, className }: { status: LiveStatus; className?: string }) {
  return (
    <span
      role="status"
      data-testid="live-status"
      data-status={status}
      title={HINTS[status]}
      className={cn(
        "inline-flex items-center gap-1.5 rounded-full border px-2 py-0.5 text-xs font-medium",
        status === "live" && "border-success/30 bg-success/10 text-success",
        status === "connecting" && "border-border text-muted-foreground",
        status === "reconnecting" && "border-warning/40 bg-warning/10 text-warning",
        className,
      )}
    >
      {/* A still dot: an endless animation would keep screenshots (and motion-sensitive readers) waiting. */}
      <span className={cn("h-2 w-2 rounded-full", status === "live" ? "bg-success" : status === "reconnecting" ? "bg-warning" : "bg-muted-foreground/60")} aria-hidden />
      {LABELS[status]}
    </span>
  );
}
