import { TriangleAlert } from "lucide-react";
import { useEffect, useState } from "react";
import { fieldIds, FormField } from "~/components/form-field";
import { Input } from "~/components/ui/input";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import type { FieldErrorMap } from "~/lib/key-form.server";
import { Section } from "./form-section";

function expiryLabel(value: string): string {
  if (value === "never") return "Never";
  if (value === "custom") return "On a date…";
  return value === "365" ? "In 1 year" : `In ${value} days`;
}

export function ExpirySection({
  expiry,
  onExpiryChange,
  presets,
  maxTtlDays,
  now,
  errors,
}: {
  expiry: string;
  onExpiryChange: (value: string) => void;
  presets: number[];
  maxTtlDays: number | null;
  now: string;
  errors: FieldErrorMap;
}) {
  const [tzOffset, setTzOffset] = useState(0);
  useEffect(() => setTzOffset(new Date().getTimezoneOffset()), []);
  const maxDate = maxTtlDays === null ? undefined : new Date(new Date(now).getTime() + maxTtlDays * 86_400_000).toISOString().slice(0, 10);
  const minDate = now.slice(0, 10);
  return (
    <Section
      title="Expiry"
      description={maxTtlDays === null ? "Short-lived keys limit the damage a leaked key can do." : `This instance requires keys to expire within ${maxTtlDays} days.`}
    >
      <div className="grid gap-5 sm:grid-cols-2">
        <FormField id="expiry" label="Expires" errors={errors.expiry}>
          <Select
            name="expiry"
            value={expiry}
            onValueChange={onExpiryChange}
          >
            <SelectTrigger {...fieldIds("expiry", errors.expiry)}>
              <SelectValue>{expiryLabel(expiry)}</SelectValue>
            </SelectTrigger>
            <SelectContent>
              {presets.map((days) => (
                <SelectItem key={days} value={String(days)}>
                  {expiryLabel(String(days))}
                </SelectItem>
              ))}
              {maxTtlDays === null ? <SelectItem value="never">Never</SelectItem> : null}
              <SelectItem value="custom">On a date…</SelectItem>
            </SelectContent>
          </Select>
        </FormField>
        {expiry === "custom" ? (
          <FormField id="expiresOn" label="Expiry date" errors={errors.expiresOn} hint="The key stops working at the end of this day, your time.">
            <Input {...fieldIds("expiresOn", errors.expiresOn, true)} type="date" name="expiresOn" min={minDate} max={maxDate} required />
          </FormField>
        ) : null}
      </div>
      {expiry === "never" ? (
        <p className="flex items-center gap-2 text-[0.8rem] text-warning">
          <TriangleAlert className="h-3.5 w-3.5" aria-hidden /> A key that never expires stays valid until someone revokes it.
        </p>
      ) : null}
      <input type="hidden" name="tzOffset" value={tzOffset} />
    </Section>
  );
}
