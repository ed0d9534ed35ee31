import { fieldIds, FormField } from "~/components/form-field";
import { Input } from "~/components/ui/input";
import { Textarea } from "~/components/ui/textarea";
import type { FieldErrorMap } from "~/lib/key-form.server";
import { Section } from "./form-section";

export function DetailsSection({ errors }: { errors: FieldErrorMap }) {
  return (
    <Section title="Details" description="A name tells you later which app or person uses this key.">
      <FormField id="name" label="Name" errors={errors.name} hint="For example “Billing service (production)”.">
        <Input {...fieldIds("name", errors.name, true)} name="name" required maxLength={100} autoComplete="off" autoFocus />
      </FormField>
      <FormField id="description" label={<>Description <span className="font-normal text-muted-foreground">(optional)</span></>} errors={errors.description}>
        <Textarea {...fieldIds("description", errors.description)} name="description" rows={2} maxLength={500} />
      </FormField>
      <FormField
        id="metadata"
        label={<>Metadata <span className="font-normal text-muted-foreground">(optional)</span></>}
        errors={errors.metadata}
        hint={<>A JSON object returned with every verification, e.g. <code className="font-mono">{'{"plan": "pro", "team": "billing"}'}</code>. Never put secrets here.</>}
      >
        <Textarea {...fieldIds("metadata", errors.metadata, true)} name="metadata" rows={2} className="font-mono text-xs" spellCheck={false} placeholder='{"plan": "pro"}' />
      </FormField>
    </Section>
  );
}
