import { Link } from "@remix-run/react";
import { NamedLimitsList, RatelimitsEditor } from "~/components/ratelimits-editor";
import { Badge } from "~/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { Checkbox } from "~/components/ui/checkbox";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { Textarea } from "~/components/ui/textarea";
import { KeyAccess } from "~/components/keys-table";
import { RelativeTime } from "~/components/relative-time";
import type { Scope } from "~/lib/scopes";
import { numberFormat } from "./format";
import type { KeyView } from "./route";
import { Setting } from "./setting";
import { AllowlistEditor, ExpiryEditor, PermissionsEditor } from "./setting-editors";

/** The key's settings, each edited and saved on its own. */
export function SettingsPanel({ apiKey, vocabulary, grantableScopes, maxTtlDays, now }: { apiKey: KeyView; vocabulary: string[]; grantableScopes: Scope[]; maxTtlDays: number | null; now: string }) {
  const locked = apiKey.status === "revoked";
  return (
    <Card>
      <CardHeader className="pb-3">
        <CardTitle>Settings</CardTitle>
        <CardDescription>{locked ? "A revoked key cannot be changed." : "Changes apply to the next request, on every instance."}</CardDescription>
      </CardHeader>
      <CardContent className="divide-y">
        <Setting
          field="name"
          label="Name"
          disabled={locked}
          view={<span className="text-foreground">{apiKey.name}</span>}
          editor={(errorId, hasError) => (
            <>
              <Label htmlFor="edit-name" className="sr-only">
                Name
              </Label>
              <Input id="edit-name" name="name" defaultValue={apiKey.name} maxLength={100} required autoFocus aria-invalid={hasError || undefined} aria-describedby={hasError ? errorId : undefined} />
            </>
          )}
        />
        <Setting
          field="description"
          label="Description"
          disabled={locked}
          view={apiKey.description || "No description"}
          editor={() => (
            <>
              <Label htmlFor="edit-description" className="sr-only">
                Description
              </Label>
              <Textarea id="edit-description" name="description" defaultValue={apiKey.description} rows={2} maxLength={500} autoFocus />
            </>
          )}
        />
        {apiKey.kind === "root" ? (
          <Setting
            field="scopes"
            label="Scopes"
            disabled={locked}
            view={
              <span className="flex flex-wrap gap-1">
                {apiKey.scopes.map((scope) => (
                  <Badge key={scope} variant={scope === "admin" ? "warning" : "outline"} className="font-mono font-medium">
                    {scope}
                  </Badge>
                ))}
              </span>
            }
            editor={() => (
              <fieldset className="flex flex-wrap gap-4">
                <legend className="sr-only">Scopes</legend>
                {grantableScopes.map((scope) => (
                  <div key={scope} className="flex items-center gap-2">
                    <Checkbox id={`edit-scope-${scope}`} name="scopes" value={scope} defaultChecked={apiKey.scopes.includes(scope)} />
                    <Label htmlFor={`edit-scope-${scope}`} className="font-mono font-normal">
                      {scope}
                    </Label>
                  </div>
                ))}
              </fieldset>
            )}
          />
        ) : (
          <Setting
            field="permissions"
            label="Permissions"
            disabled={locked}
            view={<KeyAccess apiKey={apiKey} />}
            editor={(errorId, hasError) => <PermissionsEditor vocabulary={vocabulary} granted={apiKey.permissions} errorId={errorId} hasError={hasError} />}
          />
        )}
        {apiKey.kind === "issued" ? <CreditSettings apiKey={apiKey} locked={locked} now={now} /> : null}
        {apiKey.kind === "issued" ? (
          <Setting
            field="ratelimits"
            label="Rate limits"
            disabled={locked}
            view={
              <div className="space-y-1.5">
                <NamedLimitsList limits={apiKey.ratelimits} empty="None: verification does not limit this key." />
                {apiKey.identityId ? (
                  <p className="text-xs">
                    The{" "}
                    <Link to={`/identities/${apiKey.identityId}`} className="underline underline-offset-4">
                      identity’s shared limits
                    </Link>{" "}
                    apply too.
                  </p>
                ) : null}
              </div>
            }
            editor={(errorId, hasError) => <RatelimitsEditor initial={apiKey.ratelimits} idPrefix="edit-ratelimits" errorId={errorId} hasError={hasError} autoFocus />}
          />
        ) : (
          <Setting
            field="rateLimit"
            label="Rate limit"
            disabled={locked}
            view={apiKey.rateLimit ? `${numberFormat.format(apiKey.rateLimit.requests)} requests per ${numberFormat.format(apiKey.rateLimit.windowSeconds)} s` : "Server default"}
            editor={(errorId, hasError) => (
              <div className="grid grid-cols-[1fr_auto_1fr] items-center gap-2">
                <Label htmlFor="edit-requests" className="sr-only">
                  Requests
                </Label>
                <Input id="edit-requests" name="requests" inputMode="numeric" defaultValue={apiKey.rateLimit?.requests} placeholder="1000" autoFocus aria-invalid={hasError || undefined} aria-describedby={hasError ? errorId : undefined} />
                <span className="text-xs text-muted-foreground">per</span>
                <Label htmlFor="edit-window" className="sr-only">
                  Window in seconds
                </Label>
                <Input id="edit-window" name="windowSeconds" inputMode="numeric" defaultValue={apiKey.rateLimit?.windowSeconds} placeholder="60 s" aria-invalid={hasError || undefined} />
              </div>
            )}
          />
        )}
        <Setting
          field="allowedIps"
          label="Allowed IP addresses"
          disabled={locked}
          view={
            apiKey.allowedIps.length === 0 ? (
              "Any address"
            ) : (
              <span className="flex flex-wrap gap-1">
                {apiKey.allowedIps.map((entry) => (
                  <code key={entry} className="rounded bg-muted px-1.5 py-0.5 font-mono text-xs text-foreground">
                    {entry}
                  </code>
                ))}
              </span>
            )
          }
          editor={(errorId, hasError) => <AllowlistEditor initial={apiKey.allowedIps} errorId={errorId} hasError={hasError} />}
        />
        <Setting
          field="expiresAt"
          label="Expiry"
          disabled={locked}
          view={<RelativeTime iso={apiKey.expiresAt} now={now} fallback="Never" />}
          editor={() => <ExpiryEditor apiKey={apiKey} maxTtlDays={maxTtlDays} now={now} />}
        />
      </CardContent>
    </Card>
  );
}

const refillText = (refill: NonNullable<KeyView["credits"]>["refill"]) =>
  !refill ? "never refilled" : refill.interval === "daily" ? `back to ${numberFormat.format(refill.amount)} every day (00:00 UTC)` : `back to ${numberFormat.format(refill.amount)} on day ${refill.refillDay ?? 1} of each month (UTC)`;

/** An issued key's credits: the balance and its refill, set as a whole, or added to. */
function CreditSettings({ apiKey, locked, now }: { apiKey: KeyView; locked: boolean; now: string }) {
  const { credits } = apiKey;
  return (
    <>
      <Setting
        field="credits"
        label="Credits"
        disabled={locked}
        view={
          credits ? (
            <span data-credits-remaining={credits.remaining}>
              <span className="font-medium text-foreground">{numberFormat.format(credits.remaining)}</span> remaining, {refillText(credits.refill)}
              {credits.nextRefillAt ? (
                <>
                  {" "}
                  · next refill <RelativeTime iso={credits.nextRefillAt} now={now} />
                </>
              ) : null}
            </span>
          ) : (
            "Unlimited"
          )
        }
        editor={(errorId, hasError) => <CreditsFields credits={credits} errorId={errorId} hasError={hasError} />}
      />
      {credits ? (
        <Setting
          field="addCredits"
          label="Add credits"
          disabled={locked}
          view="Adds to the balance as it stands, keeping the refill."
          editor={(errorId, hasError) => (
            <>
              <Label htmlFor="edit-add-credits" className="sr-only">
                Credits to add
              </Label>
              <Input id="edit-add-credits" name="addCredits" inputMode="numeric" placeholder="1000" autoFocus aria-invalid={hasError || undefined} aria-describedby={hasError ? errorId : undefined} />
            </>
          )}
        />
      ) : null}
    </>
  );
}

/** The balance and the refill schedule; an empty balance means unlimited. Shared by the key page and the issue-key form. */
export function CreditsFields({ credits, errorId, hasError }: { credits: KeyView["credits"] | null; errorId?: string; hasError?: boolean }) {
  return (
    <div className="grid gap-2 sm:grid-cols-2">
      <div className="space-y-1">
        <Label htmlFor="edit-credits">Credits remaining</Label>
        <Input id="edit-credits" name="credits" inputMode="numeric" defaultValue={credits?.remaining} placeholder="Unlimited" aria-invalid={hasError || undefined} aria-describedby={hasError ? errorId : undefined} />
      </div>
      <div className="space-y-1">
        <Label htmlFor="edit-refill-interval">Refill</Label>
        <select id="edit-refill-interval" name="refillInterval" defaultValue={credits?.refill?.interval ?? ""} className="flex h-9 w-full rounded-md border border-input bg-background px-3 text-sm">
          <option value="">Never</option>
          <option value="daily">Daily (00:00 UTC)</option>
          <option value="monthly">Monthly</option>
        </select>
      </div>
      <div className="space-y-1">
        <Label htmlFor="edit-refill-amount">Refill to</Label>
        <Input id="edit-refill-amount" name="refillAmount" inputMode="numeric" defaultValue={credits?.refill?.amount} placeholder="1000" />
      </div>
      <div className="space-y-1">
        <Label htmlFor="edit-refill-day">Day of month (monthly)</Label>
        <Input id="edit-refill-day" name="refillDay" inputMode="numeric" defaultValue={credits?.refill?.refillDay} placeholder="1" />
      </div>
    </div>
  );
}
