import { ScrollText } from "lucide-react";
import { RelativeTime } from "~/components/relative-time";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { cn } from "~/lib/utils";
import { formatGrace } from "./rotate-dialog";
import type { LoaderData } from "./route";

const AUDIT_LABELS: Record<string, string> = {
  "key.created": "Created",
  "key.updated": "Settings changed",
  "key.disabled": "Disabled",
  "key.enabled": "Enabled",
  "key.revoked": "Revoked",
  "key.rotated": "Rotated",
  "key.revealed": "Revealed",
};

const FIELD_NAMES: Record<string, string> = {
  name: "name",
  description: "description",
  scopes: "scopes",
  allowedIps: "allowed IPs",
  rateLimit: "rate limit",
  expiresAt: "expiry",
  metadata: "metadata",
  disabledAt: "status",
  revokedAt: "status",
};

/** One line a person can read about an audit entry's details. */
function auditSummary(action: string, details: Record<string, unknown>): string | null {
  if (action === "key.rotated" && typeof details.newKeyId === "string") {
    const grace = typeof details.gracePeriodSeconds === "number" && details.gracePeriodSeconds > 0 ? `; the old key works for ${formatGrace(details.gracePeriodSeconds)}` : "";
    return `Replaced by ${details.newKeyId}${grace}`;
  }
  if (action === "key.created" && Array.isArray(details.scopes)) return `Scopes: ${details.scopes.join(", ")}`;
  if (action === "key.updated" && details.changes && typeof details.changes === "object") {
    const fields = [...new Set(Object.keys(details.changes).map((field) => FIELD_NAMES[field] ?? field))];
    return fields.length > 0 ? `Changed ${fields.join(", ")}` : null;
  }
  return null;
}

/** Who changed the key, and when. */
export function AuditPanel({ audit, now }: { audit: LoaderData["audit"]; now: string }) {
  return (
    <Card>
      <CardHeader>
        <CardTitle className="flex items-center gap-2">
          <ScrollText className="h-4 w-4 text-muted-foreground" aria-hidden /> Audit trail
        </CardTitle>
        <CardDescription>Who changed this key, and when.</CardDescription>
      </CardHeader>
      <CardContent>
        {audit.length === 0 ? (
          <p className="text-sm text-muted-foreground">Nothing recorded yet.</p>
        ) : (
          <ol className="relative space-y-4 border-l pl-5" data-testid="audit-trail">
            {audit.map((entry) => {
              const summary = auditSummary(entry.action, entry.details);
              return (
                <li key={entry.id} className="relative">
                  <span className={cn("absolute -left-[25px] top-1.5 h-2.5 w-2.5 rounded-full border-2 border-background", entry.action === "key.revoked" ? "bg-destructive" : entry.action === "key.revealed" ? "bg-warning" : "bg-primary")} aria-hidden />
                  <div className="flex flex-wrap items-baseline gap-x-2 text-sm">
                    <span className="font-medium">{AUDIT_LABELS[entry.action] ?? entry.action}</span>
                    <span className="text-muted-foreground">by {entry.actorEmail ?? (entry.actorType === "system" ? "the system" : entry.actorId ?? "unknown")}</span>
                    {entry.actorKeyId ? <span className="font-mono text-xs text-muted-foreground">via {entry.actorKeyId}</span> : null}
                    <span className="ml-auto text-xs text-muted-foreground">
                      <RelativeTime iso={entry.occurredAt} now={now} />
                    </span>
                  </div>
                  {summary ? <p className="mt-0.5 truncate text-xs text-muted-foreground">{summary}</p> : null}
                </li>
              );
            })}
          </ol>
        )}
      </CardContent>
    </Card>
  );
}
