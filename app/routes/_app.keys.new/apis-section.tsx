import { FieldErrors } from "~/components/form-field";
import { Checkbox } from "~/components/ui/checkbox";
import { Label } from "~/components/ui/label";
import type { FieldErrorMap } from "~/lib/key-form.server";
import { Section } from "./form-section";

/** Optionally restricts the root key to some APIs: their keys, identities and verifications only. */
export function ApisSection({ apis, errors }: { apis: { id: string; name: string; prefix: string }[]; errors: FieldErrorMap }) {
  return (
    <Section title="Restrict to APIs" description="Optional. A restricted key sees and verifies only the keys and identities of the APIs ticked here; none ticked means every API you can see.">
      <fieldset className="space-y-2" aria-describedby={errors.apiIds?.length ? "apiIds-error" : undefined}>
        <legend className="mb-3 text-sm font-medium leading-none">APIs</legend>
        <div className="grid gap-2 sm:grid-cols-2">
          {apis.map((api) => (
            <div key={api.id} className="flex items-center gap-3 rounded-md border p-2.5 has-[[data-state=checked]]:border-primary/50 has-[[data-state=checked]]:bg-accent/40">
              <Checkbox id={`api-${api.id}`} name="apiIds" value={api.id} />
              <Label htmlFor={`api-${api.id}`} className="min-w-0 cursor-pointer font-normal">
                <span className="block truncate">{api.name}</span>
                <span className="font-mono text-xs text-muted-foreground">{api.prefix}_</span>
              </Label>
            </div>
          ))}
        </div>
        <FieldErrors id="apiIds" errors={errors.apiIds} />
      </fieldset>
    </Section>
  );
}
