import { RelativeTime } from "~/components/relative-time";
import { Card, CardContent, CardHeader, CardTitle } from "~/components/ui/card";
import type { KeyView, LoaderData } from "./route";

/** Who owns the key and when it was created, changed and revoked. */
export function DetailsPanel({ apiKey, owner, now }: { apiKey: KeyView; owner: LoaderData["owner"]; now: string }) {
  return (
    <Card>
      <CardHeader className="pb-3">
        <CardTitle>Details</CardTitle>
      </CardHeader>
      <CardContent>
        <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
          <dt className="text-muted-foreground">Owner</dt>
          <dd className="truncate text-right" title={owner.email}>
            {owner.email}
          </dd>
          <dt className="text-muted-foreground">Created</dt>
          <dd className="text-right">
            <RelativeTime iso={apiKey.createdAt} now={now} />
          </dd>
          <dt className="text-muted-foreground">Updated</dt>
          <dd className="text-right">
            <RelativeTime iso={apiKey.updatedAt} now={now} />
          </dd>
          {apiKey.revokedAt ? (
            <>
              <dt className="text-muted-foreground">Revoked</dt>
              <dd className="text-right">
                <RelativeTime iso={apiKey.revokedAt} now={now} />
              </dd>
            </>
          ) : null}
          <dt className="text-muted-foreground">Recoverable</dt>
          <dd className="text-right">{apiKey.recoverable ? "Yes (admins can reveal it)" : "No"}</dd>
        </dl>
      </CardContent>
    </Card>
  );
}
