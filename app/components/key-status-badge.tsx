import type { KeyStatus } from "~/lib/key-schemas";
import { Badge, type BadgeProps } from "~/components/ui/badge";

const STYLE: Record<KeyStatus, { label: string; variant: BadgeProps["variant"]; dot: string }> = {
  active: { label: "Active", variant: "success", dot: "bg-success" },
  disabled: { label: "Disabled", variant: "muted", dot: "bg-muted-foreground" },
  expired: { label: "Expired", variant: "warning", dot: "bg-warning" },
  revoked: { label: "Revoked", variant: "danger", dot: "bg-destructive" },
};

export function KeyStatusBadge({ status }: { status: KeyStatus }) {
  const { label, variant, dot } = STYLE[status];
  return (
    <Badge variant={variant} data-status={status}>
      <span className={`h-1.5 w-1.5 rounded-full ${dot}`} aria-hidden />
      {label}
    </Badge>
  );
}
