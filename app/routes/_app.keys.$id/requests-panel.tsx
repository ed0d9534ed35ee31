import { RelativeTime } from "~/components/relative-time";
import { Badge } from "~/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import type { LoaderData } from "./route";

function statusTone(status: number): "success" | "warning" | "danger" | "muted" {
  if (status < 400) return "success";
  if (status === 429) return "warning";
  if (status === 401 || status === 403 || status >= 500) return "danger";
  return "muted";
}

/** The latest requests made with the key, newest first. */
export function RequestsPanel({ requests, now }: { requests: LoaderData["requests"]; now: string }) {
  return (
    <Card>
      <CardHeader>
        <CardTitle>Recent requests</CardTitle>
        <CardDescription>The latest {requests.length || ""} requests made with this key, newest first.</CardDescription>
      </CardHeader>
      <CardContent className="p-0">
        {requests.length === 0 ? (
          <p className="px-6 pb-6 text-sm text-muted-foreground">No requests yet. Call the API with this key and they appear here within seconds.</p>
        ) : (
          <Table data-testid="recent-requests">
            <TableHeader>
              <TableRow className="hover:bg-transparent">
                <TableHead className="pl-6">When</TableHead>
                <TableHead>Request</TableHead>
                <TableHead>Status</TableHead>
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
                    <span className="truncate font-mono text-xs">
                      <span className="font-semibold">{entry.method}</span> {entry.path}
                    </span>
                  </TableCell>
                  <TableCell>
                    <Badge variant={statusTone(entry.status)} className="font-mono">
                      {entry.status}
                    </Badge>
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
