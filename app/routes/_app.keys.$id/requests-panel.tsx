import { RelativeTime } from "~/components/relative-time";
import { Badge } from "~/components/ui/badge";
import { outcomeLabel } from "~/components/verification-chart";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import type { LoaderData } from "./route";

function statusTone(status: number): "success" | "warning" | "danger" | "muted" {
  if (status < 400) return "success";
  if (status === 429) return "warning";
  if (status === 401 || status === 403 || status >= 500) return "danger";
  return "muted";
}

function outcomeTone(outcome: string): "success" | "warning" | "danger" {
  if (outcome === "VALID") return "success";
  if (outcome === "RATE_LIMITED" || outcome === "USAGE_EXCEEDED") return "warning";
  return "danger";
}

type Entry = LoaderData["requests"][number];

/** A verification line names its outcome (its status is the verify call's own 200); a request line its status. */
function Outcome({ entry }: { entry: Entry }) {
  if (entry.outcome) {
    return (
      // The longest codes are cut on a phone; the title keeps them whole.
      <Badge variant={outcomeTone(entry.outcome)} className="max-w-[8.5rem] font-mono sm:max-w-none" title={`${entry.outcome}: ${outcomeLabel(entry.outcome)}`}>
        <span className="min-w-0 truncate">{entry.outcome}</span>
      </Badge>
    );
  }
  return (
    <Badge variant={statusTone(entry.status)} className="font-mono">
      {entry.status}
    </Badge>
  );
}

/** The latest requests made with the key (for an issued key: its verifications), newest first. */
export function RequestsPanel({ requests, issued, now }: { requests: LoaderData["requests"]; issued: boolean; now: string }) {
  const what = issued ? "verifications" : "requests";
  return (
    <Card>
      <CardHeader>
        <CardTitle>Recent {what}</CardTitle>
        <CardDescription>
          The latest {requests.length || ""} {issued ? "verifications of this key, with their outcome and the tags the verifying service sent" : "requests made with this key"}, newest first.
        </CardDescription>
      </CardHeader>
      <CardContent className="p-0">
        {requests.length === 0 ? (
          <p className="px-6 pb-6 text-sm text-muted-foreground">
            {issued ? "No verifications yet. Verify this key and they appear here within seconds." : "No requests yet. Call the API with this key and they appear here within seconds."}
          </p>
        ) : (
          <Table data-testid="recent-requests">
            <TableHeader>
              <TableRow className="hover:bg-transparent">
                <TableHead className="pl-6">When</TableHead>
                <TableHead>Request</TableHead>
                <TableHead>{issued ? "Outcome" : "Status"}</TableHead>
                <TableHead className="hidden md:table-cell">Address</TableHead>
                <TableHead className="hidden pr-6 text-right sm:table-cell">Time</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {requests.map((entry) => (
                <TableRow key={entry.id}>
                  <TableCell className="whitespace-nowrap pl-6">
                    <RelativeTime iso={entry.occurredAt} now={now} />
                  </TableCell>
                  <TableCell className="max-w-[14rem]">
                    <span className="block truncate font-mono text-xs">
                      <span className="font-semibold">{entry.method}</span> {entry.path}
                    </span>
                    {entry.tags?.length ? (
                      <ul aria-label="Tags" className="mt-1 flex flex-wrap gap-1">
                        {entry.tags.map((tag, index) => (
                          <li key={index}>
                            <Badge variant="muted" className="max-w-[12rem] truncate font-mono font-normal">
                              {tag}
                            </Badge>
                          </li>
                        ))}
                      </ul>
                    ) : null}
                  </TableCell>
                  <TableCell>
                    <Outcome entry={entry} />
                  </TableCell>
                  <TableCell className="hidden font-mono text-xs md:table-cell">{entry.clientIp ?? "—"}</TableCell>
                  <TableCell className="hidden pr-6 text-right font-mono text-xs tabular-nums sm:table-cell">{entry.durationMs.toFixed(1)} ms</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </CardContent>
    </Card>
  );
}
