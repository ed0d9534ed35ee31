import { Link } from "@remix-run/react";
import { numberFormat } from "~/components/usage-chart";
import type { ApiPageData } from "./route";

type TopKey = ApiPageData["usage"]["topKeys"][number];

function KeyList({ title, keys, count, unit, empty }: { title: string; keys: TopKey[]; count: (key: TopKey) => number; unit: string; empty: string }) {
  const id = `top-${unit}`;
  return (
    <div className="min-w-0 space-y-2">
      <h3 id={id} className="text-sm font-medium">
        {title}
      </h3>
      {keys.length === 0 ? (
        <p className="text-sm text-muted-foreground">{empty}</p>
      ) : (
        <ol aria-labelledby={id} className="divide-y rounded-md border text-sm">
          {keys.map((key) => (
            <li key={key.keyId} className="flex items-center gap-3 px-3 py-2">
              <Link to={`/keys/${key.keyId}`} className="min-w-0 flex-1 truncate underline-offset-4 hover:underline">
                {key.name ?? <span className="font-mono text-xs">{key.keyId}</span>}
              </Link>
              <span className="shrink-0 font-mono text-xs tabular-nums text-muted-foreground">
                {numberFormat.format(count(key))} {unit}
              </span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

/**
 * The API's most verified keys, and the same keys ordered by refusals (the read returns the ten
 * most verified, so a key refused rarely among much traffic elsewhere may be missing from the second list).
 */
export function TopKeys({ keys }: { keys: TopKey[] }) {
  const refused = keys.filter((key) => key.refused > 0).sort((a, b) => b.refused - a.refused);
  return (
    <div className="grid gap-5 px-4 sm:grid-cols-2 sm:px-0">
      <KeyList title="Top keys by volume" keys={keys} count={(key) => key.total} unit="verifications" empty="No key was verified in this period." />
      <KeyList title="Top keys by refusals" keys={refused} count={(key) => key.refused} unit="refused" empty="No refusals among them." />
    </div>
  );
}
