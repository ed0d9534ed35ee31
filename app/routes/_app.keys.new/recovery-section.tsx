import { Label } from "~/components/ui/label";
import { Switch } from "~/components/ui/switch";
import { Section } from "./form-section";

export function RecoverySection() {
  return (
    <Section title="Recovery" description="By default nobody, not even Keyward, can show this key again.">
      <div className="flex items-start justify-between gap-4 rounded-md border p-4">
        <div className="space-y-1">
          <Label htmlFor="recoverable">Recoverable</Label>
          <p id="recoverable-hint" className="text-[0.8rem] text-muted-foreground">
            Keep an encrypted copy so an admin can reveal the key later. Every reveal is audited.
          </p>
        </div>
        <Switch id="recoverable" name="recoverable" value="on" aria-describedby="recoverable-hint" />
      </div>
    </Section>
  );
}
