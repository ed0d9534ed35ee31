import { useEffect, useState } from "react";
import { checkAllowlist } from "~/components/allowlist-input";
import { Checkbox } from "~/components/ui/checkbox";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { Textarea } from "~/components/ui/textarea";
import type { KeyView } from "./route";

export function AllowlistEditor({ initial, errorId, hasError }: { initial: string[]; errorId: string; hasError: boolean }) {
  const [text, setText] = useState(initial.join("\n"));
  const { entries, problems } = checkAllowlist(text);
  return (
    <>
      <Label htmlFor="edit-allowedIps" className="sr-only">
        Allowed IP addresses
      </Label>
      <Textarea
        id="edit-allowedIps"
        name="allowedIps"
        rows={4}
        spellCheck={false}
        className="font-mono text-xs"
        value={text}
        onChange={(event) => setText(event.target.value)}
        placeholder={"203.0.113.7\n198.51.100.0/24"}
        aria-invalid={problems.length > 0 || hasError ? true : undefined}
        aria-describedby={`allowlist-live ${hasError ? errorId : ""}`.trim()}
        autoFocus
      />
      <div id="allowlist-live" aria-live="polite" className="space-y-0.5 text-[0.8rem]">
        {problems.length > 0 ? (
          problems.map((problem) => (
            <p key={problem} className="font-medium text-destructive">
              {problem}
            </p>
          ))
        ) : (
          <p className="text-muted-foreground">{entries.length === 0 ? "Empty: any address may use the key." : `${entries.length} valid ${entries.length === 1 ? "entry" : "entries"}.`}</p>
        )}
      </div>
    </>
  );
}

export function ExpiryEditor({ apiKey, maxTtlDays, now }: { apiKey: KeyView; maxTtlDays: number | null; now: string }) {
  const [never, setNever] = useState(apiKey.expiresAt === null && maxTtlDays === null);
  const [tzOffset, setTzOffset] = useState(0);
  useEffect(() => setTzOffset(new Date().getTimezoneOffset()), []);
  const maxDate = maxTtlDays === null ? undefined : new Date(Date.parse(now) + maxTtlDays * 86_400_000).toISOString().slice(0, 10);
  return (
    <div className="space-y-2">
      <Label htmlFor="edit-expiresOn" className="sr-only">
        Expiry date
      </Label>
      <Input id="edit-expiresOn" type="date" name="expiresOn" min={now.slice(0, 10)} max={maxDate} defaultValue={apiKey.expiresAt?.slice(0, 10)} disabled={never} required={!never} />
      <input type="hidden" name="tzOffset" value={tzOffset} />
      {maxTtlDays === null ? (
        <div className="flex items-center gap-2">
          <Checkbox id="edit-never" name="never" value="on" checked={never} onCheckedChange={(checked) => setNever(checked === true)} />
          <Label htmlFor="edit-never" className="font-normal">
            Never expires
          </Label>
        </div>
      ) : (
        <p className="text-[0.8rem] text-muted-foreground">Keys must expire within {maxTtlDays} days on this instance.</p>
      )}
    </div>
  );
}

/** The vocabulary of the key's API as boxes to tick, and a box for wildcards and grants outside it (the service refuses unknown ones). */
export function PermissionsEditor({ vocabulary, granted, errorId, hasError }: { vocabulary: string[]; granted: string[]; errorId: string; hasError: boolean }) {
  const typed = granted.filter((grant) => !vocabulary.includes(grant));
  return (
    <div className="space-y-3">
      {vocabulary.length > 0 ? (
        <fieldset className="space-y-2">
          <legend className="sr-only">Permissions from the vocabulary</legend>
          {vocabulary.map((permission) => (
            <div key={permission} className="flex items-center gap-2">
              <Checkbox id={`edit-permission-${permission}`} name="permissions" value={permission} defaultChecked={granted.includes(permission)} />
              <Label htmlFor={`edit-permission-${permission}`} className="break-all font-mono font-normal">
                {permission}
              </Label>
            </div>
          ))}
        </fieldset>
      ) : null}
      <div className="space-y-1.5">
        <Label htmlFor="edit-grants" className="text-xs font-normal text-muted-foreground">
          Wildcards and other grants
        </Label>
        <Input
          id="edit-grants"
          name="grants"
          defaultValue={typed.join(" ")}
          placeholder="orders.*"
          autoComplete="off"
          spellCheck={false}
          className="font-mono"
          aria-invalid={hasError || undefined}
          aria-describedby={`edit-grants-hint ${hasError ? errorId : ""}`.trim()}
        />
        <p id="edit-grants-hint" className="text-[0.8rem] text-muted-foreground">
          Separated by spaces or commas, e.g. orders.* or * for everything.
        </p>
      </div>
    </div>
  );
}
