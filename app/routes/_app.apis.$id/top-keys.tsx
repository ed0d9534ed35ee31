import { Link } from "@remix-run/react";
import { numberFormat } from "~/components/usage-chart";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { LOW_CREDITS_TEXT } from "~/lib/credits";
import type { ApiPageData } from "./route";

type Usage = ApiPageData["usage"];
type Entry = { id: string; href: string; label: string | null; count: number };

function RankedList({ title, entries, unit, empty }: { title: string; entries: Entry[]; unit: string; empty: string }) {
  const id = `top-${title.toLowerCase().replace(/\W+/g, "-")}`;
  return (
    <div className="min-w-0 space-y-2">
      <h3 id={id} className="text-sm font-medium">
        {title}
      </h3>
      {entries.length === 0 ? (
        <p className="text-sm text-muted-foreground">{empty}</p>
      ) : (
        <ol aria-labelledby={id} className="divide-y rounded-md border text-sm">
          {entries.map((entry) => (
            <li key={entry.id} className="flex items-center gap-3 px-3 py-2">
              <Link to={entry.href} className="min-w-0 flex-1 truncate underline-offset-4 hover:underline">
                {entry.label ?? <span className="font-mono text-xs">{entry.id}</span>}
              </Link>
              <span className="shrink-0 font-mono text-xs tabular-nums text-muted-foreground">
                {numberFormat.format(entry.count)} {unit}
              </span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

const keyEntries = (keys: Usage["topKeys"], count: "total" | "refused"): Entry[] => keys.map((key) => ({ id: key.keyId, href: `/keys/${key.keyId}`, label: key.name, count: key[count] }));
const identityEntries = (list: Usage["topIdentities"], count: "total" | "refused"): Entry[] =>
  list.map((identity) => ({ id: identity.identityId, href: `/identities/${identity.identityId}`, label: identity.externalId, count: identity[count] }));

/** The API's most verified and most refused keys and identities in the period (ten each, ranked by the server). */
export function TopKeys({ usage }: { usage: Usage }) {
  return (
    <div className="grid gap-5 px-4 sm:grid-cols-2 sm:px-0" data-top-lists>
      <RankedList title="Top keys by volume" entries={keyEntries(usage.topKeys, "total")} unit="verifications" empty="No key was verified in this period." />
      <RankedList title="Top keys by refusals" entries={keyEntries(usage.topKeysByRefusals, "refused")} unit="refused" empty="No key was refused in this period." />
      <RankedList title="Top identities by volume" entries={identityEntries(usage.topIdentities, "total")} unit="verifications" empty="No key of an identity was verified in this period." />
      <RankedList title="Top identities by refusals" entries={identityEntries(usage.topIdentitiesByRefusals, "refused")} unit="refused" empty="No key of an identity was refused in this period." />
    </div>
  );
}

/** Live keys whose credits are about to run out, as they stand now (whatever the chart's period). */
export function KeysNearCreditEnd({ keys }: { keys: Usage["keysNearCreditEnd"] }) {
  return (
    <Card data-near-credit-end>
      <CardHeader className="pb-3">
        <CardTitle>Keys near their credit end</CardTitle>
        <CardDescription>Live keys with {LOW_CREDITS_TEXT}, now. Out of credits, verification answers USAGE_EXCEEDED.</CardDescription>
      </CardHeader>
      <CardContent>
        {keys.length === 0 ? (
          <p className="text-sm text-muted-foreground">None: every key with credits has more than that left.</p>
        ) : (
          <ol aria-label="Keys near their credit end" className="divide-y rounded-md border text-sm">
            {keys.map((key) => (
              <li key={key.keyId} className="flex items-center gap-3 px-3 py-2">
                <Link to={`/keys/${key.keyId}`} className="min-w-0 flex-1 truncate underline-offset-4 hover:underline">
                  {key.name}
                </Link>
                <span className={`shrink-0 font-mono text-xs tabular-nums ${key.remaining === 0 ? "font-medium text-destructive" : "text-muted-foreground"}`}>
                  {numberFormat.format(key.remaining)} left{key.refillAmount === null ? "" : ` of ${numberFormat.format(key.refillAmount)}`}
                </span>
              </li>
            ))}
          </ol>
        )}
      </CardContent>
    </Card>
  );
}
