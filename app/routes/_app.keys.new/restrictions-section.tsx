import { useMemo, type ReactNode } from "react";
import { FieldErrors, fieldIds, FormField } from "~/components/form-field";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { Textarea } from "~/components/ui/textarea";
import { normalizeCidr } from "~/lib/ip";
import type { FieldErrorMap } from "~/lib/key-form.server";
import { Section } from "./form-section";

interface AllowlistLine {
  line: number;
  value: string;
}

/** Non-blank lines of the allowlist textarea, with their line numbers for error messages. */
function allowlistLines(text: string): AllowlistLine[] {
  return text
    .split(/\r?\n/)
    .map((value, index) => ({ line: index + 1, value: value.trim() }))
    .filter((entry) => entry.value !== "");
}

/**
 * `rateLimitHint` says what an empty rate limit means and what happens over it (a root key's single
 * limit); `rateLimits`, when given, replaces that field (an issued key's named limits).
 */
export function RestrictionsSection({ allowlist, onAllowlistChange, errors, rateLimitHint, rateLimits }: { allowlist: string; onAllowlistChange: (text: string) => void; errors: FieldErrorMap; rateLimitHint?: string; rateLimits?: ReactNode }) {
  const liveIpErrors = useMemo(
    () =>
      allowlistLines(allowlist).flatMap(({ line, value }) => {
        const checked = normalizeCidr(value);
        return checked.ok ? [] : [`Line ${line}: ${checked.error}`];
      }),
    [allowlist],
  );
  const validIpCount = allowlistLines(allowlist).length - liveIpErrors.length;
  // Typing fixes allowlist entries as you go; server messages cover what only it checks (how many).
  const ipErrors = [...new Set([...liveIpErrors, ...(errors.allowedIps ?? []).filter((message) => !message.startsWith("Line "))])];
  return (
    <Section title="Restrictions" description="Optional limits enforced on every request made with this key.">
      <FormField
        id="allowedIps"
        label={<>Allowed IP addresses <span className="font-normal text-muted-foreground">(optional)</span></>}
        hint={
          allowlist.trim() === ""
            ? "One IPv4/IPv6 address or CIDR range per line, e.g. 203.0.113.0/24. Leave empty to allow any address."
            : `${validIpCount} valid ${validIpCount === 1 ? "entry" : "entries"}${liveIpErrors.length ? `, ${liveIpErrors.length} to fix` : ""}.`
        }
        errors={ipErrors}
      >
        <Textarea
          {...fieldIds("allowedIps", ipErrors, true)}
          name="allowedIps"
          rows={4}
          spellCheck={false}
          value={allowlist}
          onChange={(event) => onAllowlistChange(event.target.value)}
          placeholder={"203.0.113.7\n198.51.100.0/24\n2001:db8::/32"}
          className="font-mono"
        />
      </FormField>
      {rateLimits ?? (
        <fieldset className="space-y-2">
          <legend className="text-sm font-medium leading-none">
            Rate limit <span className="font-normal text-muted-foreground">(optional)</span>
          </legend>
          <div className="grid grid-cols-[1fr_auto_1fr] items-start gap-2 pt-2">
            <div className="space-y-2">
              <Label htmlFor="rateLimitRequests" className="sr-only">
                Requests
              </Label>
              <div className="relative">
                <Input {...fieldIds("rateLimitRequests", errors.rateLimitRequests)} name="rateLimitRequests" inputMode="numeric" placeholder="1000" className="pr-20" />
                <span className="pointer-events-none absolute right-3 top-2 text-sm text-muted-foreground">requests</span>
              </div>
              <FieldErrors id="rateLimitRequests" errors={errors.rateLimitRequests} />
            </div>
            <span className="pt-2 text-sm text-muted-foreground">per</span>
            <div className="space-y-2">
              <Label htmlFor="rateLimitWindow" className="sr-only">
                Window in seconds
              </Label>
              <div className="relative">
                <Input {...fieldIds("rateLimitWindow", errors.rateLimitWindow)} name="rateLimitWindow" inputMode="numeric" placeholder="60" className="pr-20" />
                <span className="pointer-events-none absolute right-3 top-2 text-sm text-muted-foreground">seconds</span>
              </div>
              <FieldErrors id="rateLimitWindow" errors={errors.rateLimitWindow} />
            </div>
          </div>
          <p className="text-[0.8rem] text-muted-foreground">{rateLimitHint}</p>
        </fieldset>
      )}
    </Section>
  );
}
