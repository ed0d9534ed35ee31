import { fieldIds, FormField } from "~/components/form-field";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { Switch } from "~/components/ui/switch";
import { Textarea } from "~/components/ui/textarea";
import type { ApiKeyDefaults } from "../../db/schema";
import { Section } from "~/routes/_app.keys.new/form-section";

type Errors = Record<string, string[] | undefined>;

const optional = <span className="font-normal text-muted-foreground">(optional)</span>;

/** The permission vocabulary and its implications, one per line. */
export function VocabularyFields({ permissions, implications, errors }: { permissions: string; implications: string; errors: Errors }) {
  return (
    <Section title="Permissions" description="The names your service checks when it verifies a key. Keys are granted a subset of them, or wildcards such as orders.*.">
      <FormField id="permissions" label="Permission vocabulary" errors={errors.permissions} hint="One name per line, e.g. orders.read. Letters, digits, _ and -, in . or : separated parts.">
        <Textarea {...fieldIds("permissions", errors.permissions, true)} name="permissions" rows={5} defaultValue={permissions} spellCheck={false} className="font-mono text-xs" />
      </FormField>
      <FormField id="implications" label={<>Implications {optional}</>} errors={errors.implications} hint={<>One per line: a key granted the first name also holds the others, e.g. <code className="font-mono">admin: write</code>.</>}>
        <Textarea {...fieldIds("implications", errors.implications, true)} name="implications" rows={3} defaultValue={implications} spellCheck={false} className="font-mono text-xs" placeholder={"admin: write\nwrite: read"} />
      </FormField>
    </Section>
  );
}

/** What a new key of the API gets unless its creator says otherwise. */
export function DefaultsFields({ defaults, errors }: { defaults: ApiKeyDefaults; errors: Errors }) {
  return (
    <Section title="Key defaults" description="Applied to every new key of this API unless the key says otherwise. The longest lifetime is enforced.">
      <div className="grid gap-5 sm:grid-cols-2">
        <FormField id="expiresInDays" label={<>Expires after (days) {optional}</>} errors={errors.expiresInDays} hint="Empty: new keys do not expire.">
          <Input {...fieldIds("expiresInDays", errors.expiresInDays, true)} name="expiresInDays" inputMode="numeric" defaultValue={defaults.expiresInDays} placeholder="90" />
        </FormField>
        <FormField id="maxTtlDays" label={<>Longest lifetime (days) {optional}</>} errors={errors.maxTtlDays} hint="Empty: no limit.">
          <Input {...fieldIds("maxTtlDays", errors.maxTtlDays, true)} name="maxTtlDays" inputMode="numeric" defaultValue={defaults.maxTtlDays} placeholder="365" />
        </FormField>
      </div>
      <fieldset className="space-y-2">
        <legend className="text-sm font-medium leading-none">Rate limit {optional}</legend>
        <div className="grid grid-cols-[1fr_auto_1fr] items-start gap-2 pt-2">
          <div className="space-y-1">
            <Label htmlFor="rateLimitRequests" className="sr-only">
              Requests
            </Label>
            <Input {...fieldIds("rateLimitRequests", errors.rateLimitRequests)} name="rateLimitRequests" inputMode="numeric" placeholder="1000 requests" defaultValue={defaults.rateLimit?.requests} />
          </div>
          <span className="pt-2 text-sm text-muted-foreground">per</span>
          <div className="space-y-1">
            <Label htmlFor="rateLimitWindow" className="sr-only">
              Window in seconds
            </Label>
            <Input {...fieldIds("rateLimitWindow", errors.rateLimitWindow)} name="rateLimitWindow" inputMode="numeric" placeholder="60 seconds" defaultValue={defaults.rateLimit?.windowSeconds} />
          </div>
        </div>
        {[...(errors.rateLimitRequests ?? []), ...(errors.rateLimitWindow ?? [])].map((message) => (
          <p key={message} id={errors.rateLimitRequests?.includes(message) ? "rateLimitRequests-error" : "rateLimitWindow-error"} className="text-[0.8rem] font-medium text-destructive">
            {message}
          </p>
        ))}
      </fieldset>
      <FormField id="allowedIps" label={<>Allowed IP addresses {optional}</>} errors={errors.allowedIps} hint="One address or CIDR range per line. Empty: any address.">
        <Textarea {...fieldIds("allowedIps", errors.allowedIps, true)} name="allowedIps" rows={3} spellCheck={false} className="font-mono text-xs" defaultValue={defaults.allowedIps?.join("\n")} placeholder="203.0.113.0/24" />
      </FormField>
      <div className="flex items-start justify-between gap-4 rounded-md border p-4">
        <div className="space-y-1">
          <Label htmlFor="recoverable">Recoverable keys</Label>
          <p id="recoverable-hint" className="text-[0.8rem] text-muted-foreground">
            Keep an encrypted copy of new keys so an admin can reveal them later. Every reveal is audited.
          </p>
        </div>
        <Switch id="recoverable" name="recoverable" value="on" defaultChecked={defaults.recoverable ?? false} aria-describedby="recoverable-hint" />
      </div>
    </Section>
  );
}
