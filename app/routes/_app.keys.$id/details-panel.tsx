import { Link } from "@remix-run/react";
import { RelativeTime } from "~/components/relative-time";
import { Card, CardContent, CardHeader, CardTitle } from "~/components/ui/card";
import type { KeyView, LoaderData } from "./route";

/** Its kind, the API and identity of an issued key, who owns it and when it was created, changed and revoked. */
export function DetailsPanel({ apiKey, owner, belongsTo, now }: { apiKey: KeyView; owner: LoaderData["owner"]; belongsTo: LoaderData["belongsTo"]; now: string }) {
  return (
    <Card>
      <CardHeader className="pb-3">
        <CardTitle>Details</CardTitle>
      </CardHeader>
      <CardContent>
        <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
          <dt className="text-muted-foreground">Kind</dt>
          <dd className="text-right">{apiKey.kind === "root" ? "Root key (manages Keyward)" : "Issued key (verified only)"}</dd>
          {apiKey.kind === "root" && apiKey.apiIds ? (
            <>
              <dt className="text-muted-foreground">Restricted to</dt>
              <dd className="text-right">{apiKey.apiIds.length === 1 ? "1 API" : `${apiKey.apiIds.length} APIs`}</dd>
            </>
          ) : null}
          {belongsTo.api ? (
            <>
              <dt className="text-muted-foreground">API</dt>
              <dd className="truncate text-right">
                <Link to={`/apis/${belongsTo.api.id}`} className="underline underline-offset-4">
                  {belongsTo.api.name}
                </Link>
              </dd>
            </>
          ) : null}
          {apiKey.kind === "issued" ? (
            <>
              <dt className="text-muted-foreground">Identity</dt>
              <dd className="truncate text-right">
                {belongsTo.identity ? (
                  <Link to={`/identities/${belongsTo.identity.id}`} className="font-mono underline underline-offset-4">
                    {belongsTo.identity.externalId}
                  </Link>
                ) : (
                  "None"
                )}
              </dd>
            </>
          ) : null}
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
