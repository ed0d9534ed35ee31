import { Plus, X } from "lucide-react";
import { useState } from "react";
import { Button } from "~/components/ui/button";
import { Input } from "~/components/ui/input";

/** One named limit as the dashboard shows and edits it (the shape of the key and identity views). */
export interface NamedLimit {
  name: string;
  limit: number;
  durationSeconds: number;
}

/** The most limits a key or an identity may have (the schema's bound, told before saving). */
const MAX_LIMITS = 10;

const count = new Intl.NumberFormat("en");

const WINDOWS: [number, string][] = [
  [86_400, "day"],
  [3_600, "hour"],
  [60, "minute"],
  [1, "second"],
];

/** "per second", "per 5 minutes", "per 86,401 s": the window in the largest unit that divides it. */
export function windowText(seconds: number): string {
  const [size, unit] = WINDOWS.find(([size]) => seconds % size === 0) ?? [1, "second"];
  const n = seconds / size;
  if (size === 1 && n >= 60) return `per ${count.format(seconds)} s`;
  return n === 1 ? `per ${unit}` : `per ${count.format(n)} ${unit}s`;
}

/** Named limits as a list: name, then "10 per second". */
export function NamedLimitsList({ limits, empty }: { limits: readonly NamedLimit[]; empty: string }) {
  if (limits.length === 0) return <span>{empty}</span>;
  return (
    <ul className="space-y-1" aria-label="Rate limits">
      {limits.map((limit) => (
        <li key={limit.name} className="flex flex-wrap items-baseline justify-between gap-x-3" data-ratelimit={limit.name}>
          <code className="rounded bg-muted px-1.5 py-0.5 font-mono text-xs text-foreground">{limit.name}</code>
          <span className="tabular-nums">
            <span className="font-medium text-foreground">{count.format(limit.limit)}</span> {windowText(limit.durationSeconds)}
          </span>
        </li>
      ))}
    </ul>
  );
}

type Row = { id: number; name: string; limit: string; durationSeconds: string };

/**
 * Rows of name, requests and window (seconds), added and removed in place. Submits the repeated
 * fields `ratelimitName`, `ratelimitLimit` and `ratelimitSeconds` in row order, and
 * `ratelimitsEditor` so that no rows at all reads as "no limits" (key-form.server's parseNamedLimits).
 */
export function RatelimitsEditor({ initial, idPrefix, errorId, hasError, autoFocus }: { initial: readonly NamedLimit[]; idPrefix: string; errorId?: string; hasError?: boolean; autoFocus?: boolean }) {
  const [rows, setRows] = useState<Row[]>(() => initial.map((limit, id) => ({ id, name: limit.name, limit: String(limit.limit), durationSeconds: String(limit.durationSeconds) })));
  const [nextId, setNextId] = useState(initial.length);
  const change = (id: number, field: keyof Omit<Row, "id">, value: string) => setRows((current) => current.map((row) => (row.id === id ? { ...row, [field]: value } : row)));
  const describedBy = [`${idPrefix}-hint`, hasError && errorId ? errorId : null].filter(Boolean).join(" ");
  return (
    <div className="space-y-2" data-ratelimits-editor>
      <input type="hidden" name="ratelimitsEditor" value="1" />
      {rows.length > 0 ? (
        <ul className="space-y-2">
          {rows.map((row, index) => (
            <li key={row.id} className="space-y-2 rounded-md border bg-muted/30 p-2" data-ratelimit-row={index}>
              <div className="flex items-center gap-2">
                <Input
                  name="ratelimitName"
                  value={row.name}
                  onChange={(event) => change(row.id, "name", event.target.value)}
                  placeholder="name, e.g. daily"
                  maxLength={32}
                  autoComplete="off"
                  spellCheck={false}
                  className="min-w-0 flex-1 font-mono"
                  aria-label={`Name of limit ${index + 1}`}
                  aria-invalid={hasError || undefined}
                  aria-describedby={describedBy}
                  autoFocus={autoFocus && index === 0}
                />
                <Button type="button" variant="ghost" size="icon" className="h-9 w-9 shrink-0 text-muted-foreground" onClick={() => setRows((current) => current.filter((other) => other.id !== row.id))} aria-label={`Remove limit ${row.name || index + 1}`}>
                  <X className="h-4 w-4" aria-hidden />
                </Button>
              </div>
              <div className="grid grid-cols-[minmax(0,1fr)_auto_minmax(0,1fr)_auto] items-center gap-2 text-sm text-muted-foreground">
                <Input name="ratelimitLimit" value={row.limit} onChange={(event) => change(row.id, "limit", event.target.value)} inputMode="numeric" placeholder="requests" aria-label={`Requests allowed by limit ${index + 1}`} aria-invalid={hasError || undefined} />
                <span>per</span>
                <Input name="ratelimitSeconds" value={row.durationSeconds} onChange={(event) => change(row.id, "durationSeconds", event.target.value)} inputMode="numeric" placeholder="seconds" aria-label={`Window of limit ${index + 1} in seconds`} aria-invalid={hasError || undefined} />
                <span>s</span>
              </div>
            </li>
          ))}
        </ul>
      ) : (
        <p className="text-sm text-muted-foreground">No limits: nothing limits how often it is verified.</p>
      )}
      <div>
        <Button
          type="button"
          variant="outline"
          size="sm"
          disabled={rows.length >= MAX_LIMITS}
          onClick={() => {
            setRows((current) => [...current, { id: nextId, name: current.length === 0 ? "requests" : "", limit: "", durationSeconds: "" }]);
            setNextId((id) => id + 1);
          }}
        >
          <Plus className="h-3.5 w-3.5" aria-hidden /> Add limit
        </Button>
      </div>
      <p id={`${idPrefix}-hint`} className="text-[0.8rem] text-muted-foreground">
        Up to {MAX_LIMITS}, each name once (lowercase letters, digits, _ and -). E.g. requests 10 per 1 s and daily 10000 per 86400 s. Verification applies every one unless the request names which.
      </p>
    </div>
  );
}
