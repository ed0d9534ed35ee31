import { FieldErrors } from "~/components/form-field";
import { Checkbox } from "~/components/ui/checkbox";
import { Label } from "~/components/ui/label";
import type { FieldErrorMap } from "~/lib/key-form.server";
import type { Scope } from "~/lib/scopes";
import { Section } from "./form-section";

const SCOPE_INFO: Record<Scope, { title: string; description: string }> = {
  read: { title: "Read", description: "View keys and account details." },
  write: { title: "Write", description: "Create, change, disable and revoke keys. Implies read." },
  admin: { title: "Admin", description: "Manage every user's keys and users. Implies write and read." },
};

export function PermissionsSection({ grantableScopes, errors, markEdited }: { grantableScopes: Scope[]; errors: FieldErrorMap; markEdited: (field: string) => void }) {
  return (
    <Section title="Permissions" description="Grant the least the app needs. You can grant only scopes your role holds.">
      <fieldset className="space-y-3" aria-describedby={errors.scopes?.length ? "scopes-error" : undefined}>
        <legend className="mb-3 text-sm font-medium leading-none">Scopes</legend>
        {grantableScopes.map((scope) => (
          <div key={scope} className="flex items-start gap-3 rounded-md border p-3 has-[[data-state=checked]]:border-primary/50 has-[[data-state=checked]]:bg-accent/40">
            <Checkbox id={`scope-${scope}`} name="scopes" value={scope} defaultChecked={scope === "read"} onCheckedChange={() => markEdited("scopes")} className="mt-0.5" />
            <div className="grid gap-1">
              <Label htmlFor={`scope-${scope}`} className="cursor-pointer font-mono">
                {scope}
              </Label>
              <p className="text-[0.8rem] text-muted-foreground">{SCOPE_INFO[scope].description}</p>
            </div>
          </div>
        ))}
        <FieldErrors id="scopes" errors={errors.scopes} />
      </fieldset>
    </Section>
  );
}
