import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useFetcher, useLoaderData, useSearchParams } from "@remix-run/react";
import { TRPCError } from "@trpc/server";
import { ArrowLeft, Ban, CirclePlay, Eye, Loader2, Pencil, RefreshCw, ScrollText, Timer, Trash2, TriangleAlert } from "lucide-react";
import { useEffect, useState, type ReactNode } from "react";
import { z } from "zod";
import { checkAllowlist } from "~/components/allowlist-input";
import { CopyButton } from "~/components/copy-button";
import { Countdown } from "~/components/countdown";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { FieldErrors } from "~/components/form-field";
import { KeyStatusBadge } from "~/components/key-status-badge";
import { RelativeTime } from "~/components/relative-time";
import { ChartLegend, UsageChart } from "~/components/usage-chart";
import { Alert, AlertDescription, AlertTitle } from "~/components/ui/alert";
import {
  AlertDialog,
  AlertDialogAction,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogHeader,
  AlertDialogTitle,
} from "~/components/ui/alert-dialog";
import { Badge } from "~/components/ui/badge";
import { Button, buttonVariants } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { Checkbox } from "~/components/ui/checkbox";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "~/components/ui/dialog";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { Textarea } from "~/components/ui/textarea";
import { describeFailure } from "~/lib/action-errors.server";
import { keyIdSchema, updateKeyInput } from "~/lib/key-schemas";
import { ROLE_SCOPES, type Role, type Scope } from "~/lib/scopes";
import { useActionToast } from "~/lib/use-action-toast";
import { cn } from "~/lib/utils";
import { readForm } from "~/lib/request.server";
import { requireUser } from "~/session.server";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.apiKey.name ?? "Key"} · Keyward` }];

const GRANULARITY = {
  minute: { label: "Last hour", spanMs: 3_600_000 },
  hour: { label: "Last 24 hours", spanMs: 86_400_000 },
  day: { label: "Last 30 days", spanMs: 30 * 86_400_000 },
} as const;
type Granularity = keyof typeof GRANULARITY;
const granularityParam = z.enum(["minute", "hour", "day"]).catch("hour");

const notFound = () => new Response("No key with this id, or it is not yours to see.", { status: 404 });

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { caller, user } = await requireUser(request, context);
  const id = keyIdSchema.safeParse(params.id);
  if (!id.success) throw notFound();
  const granularity = granularityParam.parse(new URL(request.url).searchParams.get("g") ?? undefined);
  const now = context.keyward.clock.now();
  const apiKey = await caller.keys.get({ id: id.data }).catch((error: unknown) => {
    if (error instanceof TRPCError && error.code === "NOT_FOUND") throw notFound();
    throw error;
  });
  const isAdmin = user.role === "admin";
  const [usage, requests, audit, owner] = await Promise.all([
    caller.usage.series({ id: apiKey.id, granularity, from: new Date(now.getTime() - GRANULARITY[granularity].spanMs).toISOString(), to: now.toISOString() }),
    caller.usage.requests({ id: apiKey.id, limit: 20 }),
    caller.audit.forKey({ keyId: apiKey.id, limit: 20 }),
    isAdmin ? caller.users.get({ id: apiKey.ownerId }) : Promise.resolve({ id: user.id, email: user.email, role: user.role }),
  ]);
  const rotatedTo = audit.data.find((entry) => entry.action === "key.rotated" && typeof entry.details.newKeyId === "string")?.details.newKeyId as string | undefined;
  return json({
    apiKey,
    usage,
    requests: requests.data,
    audit: audit.data,
    owner: { email: owner.email, role: owner.role as Role },
    rotatedTo: rotatedTo ?? null,
    isAdmin,
    granularity,
    grantableScopes: ROLE_SCOPES[owner.role as Role].filter((scope) => ROLE_SCOPES[user.role].includes(scope)),
    maxTtlDays: context.keyward.config.maxKeyTtlDays ?? null,
    now: now.toISOString(),
  });
}

// Actions ---------------------------------------------------------------------------------------

const GRACE_CHOICES = [
  { seconds: 0, label: "None: the old key stops now" },
  { seconds: 300, label: "5 minutes" },
  { seconds: 3600, label: "1 hour" },
  { seconds: 86_400, label: "24 hours" },
  { seconds: 604_800, label: "7 days" },
] as const;

const EDITABLE = ["name", "description", "scopes", "rateLimit", "allowedIps", "expiresAt"] as const;
type Editable = (typeof EDITABLE)[number];

const wholeNumber = (text: string) => (/^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN);

/** End of the chosen calendar day in the browser's time zone. */
function endOfDay(date: string, timezoneOffsetMinutes: number): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return null;
  const offset = Number.isInteger(timezoneOffsetMinutes) && Math.abs(timezoneOffsetMinutes) <= 840 ? timezoneOffsetMinutes : 0;
  return new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), 23, 59, 59) + offset * 60_000).toISOString();
}

/** The patch one inline editor submits, or the message for its field. */
function patchFor(field: Editable, form: FormData): { patch: Record<string, unknown> } | { error: string } {
  const text = (name: string) => {
    const value = form.get(name);
    return typeof value === "string" ? value : "";
  };
  switch (field) {
    case "name":
      return { patch: { name: text("name") } };
    case "description":
      return { patch: { description: text("description") } };
    case "scopes":
      return { patch: { scopes: form.getAll("scopes").filter((s) => typeof s === "string") } };
    case "allowedIps": {
      const { entries, problems } = checkAllowlist(text("allowedIps"));
      return problems.length > 0 ? { error: problems.join("\n") } : { patch: { allowedIps: entries } };
    }
    case "rateLimit": {
      const requests = text("requests").trim();
      const windowSeconds = text("windowSeconds").trim();
      if (!requests && !windowSeconds) return { patch: { rateLimit: null } };
      if (Number.isNaN(wholeNumber(requests)) || Number.isNaN(wholeNumber(windowSeconds))) return { error: "Enter whole numbers for both, or clear both for the server's default" };
      return { patch: { rateLimit: { requests: wholeNumber(requests), windowSeconds: wholeNumber(windowSeconds) } } };
    }
    case "expiresAt": {
      if (text("never") === "on") return { patch: { expiresAt: null } };
      const iso = endOfDay(text("expiresOn"), Number(text("tzOffset")));
      return iso ? { patch: { expiresAt: iso } } : { error: "Pick the date the key stops working" };
    }
  }
}

const actionInput = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("update"), field: z.enum(EDITABLE) }),
  z.object({ intent: z.enum(["disable", "enable", "revoke", "reveal"]) }),
  z.object({ intent: z.literal("rotate"), gracePeriodSeconds: z.coerce.number().int().min(0).max(604_800) }),
]);

export async function action({ request, context, params }: ActionFunctionArgs) {
  const { caller } = await requireUser(request, context);
  const id = keyIdSchema.safeParse(params.id);
  if (!id.success) throw notFound();
  const form = await readForm(request);
  const parsed = actionInput.safeParse(Object.fromEntries(form));
  if (!parsed.success) return json({ ok: false as const, intent: null, error: "That request was not understood. Reload the page and try again.", field: null }, { status: 400 });
  const input = parsed.data;
  const noStore = { "Cache-Control": "no-store" };
  try {
    switch (input.intent) {
      case "update": {
        const result = patchFor(input.field, form);
        if ("error" in result) return json({ ok: false as const, intent: "update" as const, error: result.error, field: input.field }, { status: 400 });
        const checked = updateKeyInput.safeParse(result.patch);
        if (!checked.success) return json({ ok: false as const, intent: "update" as const, error: checked.error.issues.map((issue) => issue.message).join("\n"), field: input.field }, { status: 400 });
        const key = await caller.keys.update({ id: id.data, ...checked.data });
        return json({ ok: true as const, intent: "update" as const, name: key.name, field: input.field });
      }
      case "rotate": {
        const rotated = await caller.keys.rotate({ id: id.data, gracePeriodSeconds: input.gracePeriodSeconds });
        // The new plaintext leaves the server in this body only: never a URL, a redirect or a log.
        return json({ ok: true as const, intent: "rotate" as const, secret: rotated.key, newKeyId: rotated.apiKey.id, name: rotated.apiKey.name, oldExpiresAt: rotated.previous.expiresAt }, { headers: noStore });
      }
      case "reveal": {
        const { key } = await caller.keys.reveal({ id: id.data });
        return json({ ok: true as const, intent: "reveal" as const, secret: key }, { headers: noStore });
      }
      default: {
        const key = await caller.keys[input.intent]({ id: id.data });
        return json({ ok: true as const, intent: input.intent, name: key.name });
      }
    }
  } catch (error) {
    const failure = describeFailure(error);
    const message = Object.values(failure.fieldErrors).flat().join("\n") || failure.error;
    return json({ ok: false as const, intent: input.intent, error: message, field: input.intent === "update" ? input.field : null }, { status: failure.status });
  }
}

// Page --------------------------------------------------------------------------------------------

type LoaderData = ReturnType<typeof useLoaderData<typeof loader>>;
type KeyView = LoaderData["apiKey"];

const numberFormat = new Intl.NumberFormat("en");

function statusTone(status: number): "success" | "warning" | "danger" | "muted" {
  if (status < 400) return "success";
  if (status === 429) return "warning";
  if (status === 401 || status === 403 || status >= 500) return "danger";
  return "muted";
}

function ConfirmRevoke({ apiKey }: { apiKey: KeyView }) {
  const fetcher = useFetcher<typeof action>();
  const [open, setOpen] = useState(false);
  useActionToast(fetcher, { success: (data) => (data.intent === "revoke" ? `Revoked “${apiKey.name}”` : null), error: (data) => data.error });
  return (
    <>
      {apiKey.status !== "revoked" ? (
        <Button variant="outline" className="text-destructive hover:bg-destructive/10 hover:text-destructive" onClick={() => setOpen(true)} disabled={fetcher.state !== "idle"}>
          {fetcher.state !== "idle" ? <Loader2 className="animate-spin" aria-hidden /> : <Trash2 aria-hidden />} Revoke
        </Button>
      ) : null}
      <AlertDialog open={open} onOpenChange={setOpen}>
        <AlertDialogContent>
          <AlertDialogHeader>
            <AlertDialogTitle>Revoke “{apiKey.name}”?</AlertDialogTitle>
            <AlertDialogDescription>
              Requests using <span className="font-mono text-foreground">{apiKey.start}…{apiKey.last4}</span> will be refused with 401 from now on, on every instance within a second.
              Revoking is permanent: the key cannot be enabled again.
            </AlertDialogDescription>
          </AlertDialogHeader>
          <AlertDialogFooter>
            <AlertDialogCancel>Cancel</AlertDialogCancel>
            <AlertDialogAction className={buttonVariants({ variant: "destructive" })} onClick={() => fetcher.submit({ intent: "revoke" }, { method: "post" })}>
              Revoke key
            </AlertDialogAction>
          </AlertDialogFooter>
        </AlertDialogContent>
      </AlertDialog>
    </>
  );
}

function ToggleDisabled({ apiKey }: { apiKey: KeyView }) {
  const fetcher = useFetcher<typeof action>();
  useActionToast(fetcher, {
    success: (data) => (data.intent === "disable" ? `Disabled “${apiKey.name}”` : data.intent === "enable" ? `Enabled “${apiKey.name}”` : null),
    error: (data) => data.error,
  });
  const pending = fetcher.state !== "idle";
  const intent = apiKey.disabledAt ? "enable" : "disable";
  return (
    <Button variant="outline" disabled={pending} onClick={() => fetcher.submit({ intent }, { method: "post" })}>
      {pending ? <Loader2 className="animate-spin" aria-hidden /> : intent === "enable" ? <CirclePlay aria-hidden /> : <Ban aria-hidden />}
      {intent === "enable" ? "Enable" : "Disable"}
    </Button>
  );
}

function SecretOnce({ secret, title }: { secret: string; title: string }) {
  return (
    <div className="space-y-3">
      <Alert variant="warning">
        <TriangleAlert className="h-4 w-4" aria-hidden />
        <AlertTitle>{title}</AlertTitle>
      </Alert>
      <div className="flex flex-col gap-2 sm:flex-row sm:items-start">
        <output data-testid="secret-once" className="block min-w-0 flex-1 select-all break-all rounded-md border bg-muted px-3 py-2 font-mono text-sm leading-relaxed">
          {secret}
        </output>
        <CopyButton value={secret} label="Copy key" size="default" className="shrink-0" />
      </div>
    </div>
  );
}

function RotateDialog({ apiKey, now }: { apiKey: KeyView; now: string }) {
  const fetcher = useFetcher<typeof action>();
  // The keys list's "Rotate…" opens this page with ?rotate.
  const [search] = useSearchParams();
  const [open, setOpen] = useState(() => search.has("rotate"));
  const [grace, setGrace] = useState("3600");
  // Closing the dialog forgets the new key: it is shown once.
  const [dismissed, setDismissed] = useState<unknown>(null);
  const rotated = fetcher.data?.ok && fetcher.data.intent === "rotate" && fetcher.data !== dismissed ? fetcher.data : null;
  useActionToast(fetcher, { success: (data) => (data.intent === "rotate" ? `Rotated “${apiKey.name}”` : null), error: (data) => data.error });
  const submitting = fetcher.state !== "idle";
  return (
    <>
      <Button variant="outline" onClick={() => setOpen(true)}>
        <RefreshCw aria-hidden /> Rotate
      </Button>
      <Dialog
        open={open}
        onOpenChange={setOpen}
      >
        {/* Forgotten once the dialog has finished closing, so the closing dialog does not flash the form. */}
        <DialogContent className="sm:max-w-lg" onCloseAutoFocus={() => setDismissed(fetcher.data)}>
          {rotated ? (
            <>
              <DialogHeader>
                <DialogTitle>New key for “{rotated.name}”</DialogTitle>
                <DialogDescription>
                  Deploy it now. {rotated.oldExpiresAt ? <>The old key keeps working for <Countdown until={rotated.oldExpiresAt} serverNow={now} />.</> : null}
                </DialogDescription>
              </DialogHeader>
              <SecretOnce secret={rotated.secret} title="Copy this key now. It will not be shown again." />
              <DialogFooter className="gap-2">
                <Button variant="outline" onClick={() => setOpen(false)}>
                  Done
                </Button>
                <Button asChild>
                  <Link to={`/keys/${rotated.newKeyId}`}>Open the new key</Link>
                </Button>
              </DialogFooter>
            </>
          ) : (
            <fetcher.Form method="post" className="space-y-5">
              <DialogHeader>
                <DialogTitle>Rotate “{apiKey.name}”?</DialogTitle>
                <DialogDescription>A new key with the same settings is issued and shown once. The old key keeps working during the grace period, so you can deploy the new one without downtime.</DialogDescription>
              </DialogHeader>
              <input type="hidden" name="intent" value="rotate" />
              <div className="space-y-2">
                <Label htmlFor="grace">Grace period for the old key</Label>
                <Select name="gracePeriodSeconds" value={grace} onValueChange={setGrace}>
                  <SelectTrigger id="grace">
                    <SelectValue>{GRACE_CHOICES.find((choice) => String(choice.seconds) === grace)?.label}</SelectValue>
                  </SelectTrigger>
                  <SelectContent>
                    {GRACE_CHOICES.map((choice) => (
                      <SelectItem key={choice.seconds} value={String(choice.seconds)}>
                        {choice.label}
                      </SelectItem>
                    ))}
                  </SelectContent>
                </Select>
              </div>
              <DialogFooter className="gap-2">
                <Button type="button" variant="outline" onClick={() => setOpen(false)}>
                  Cancel
                </Button>
                <Button type="submit" disabled={submitting}>
                  {submitting ? <Loader2 className="animate-spin" aria-hidden /> : <RefreshCw aria-hidden />}
                  {submitting ? "Rotating…" : "Rotate key"}
                </Button>
              </DialogFooter>
            </fetcher.Form>
          )}
        </DialogContent>
      </Dialog>
    </>
  );
}

function RevealDialog({ apiKey }: { apiKey: KeyView }) {
  const fetcher = useFetcher<typeof action>();
  const [open, setOpen] = useState(false);
  const [dismissed, setDismissed] = useState<unknown>(null);
  const revealed = fetcher.data?.ok && fetcher.data.intent === "reveal" && fetcher.data !== dismissed ? fetcher.data : null;
  useActionToast(fetcher, { success: () => null, error: (data) => data.error });
  return (
    <>
      <Button variant="outline" onClick={() => setOpen(true)}>
        <Eye aria-hidden /> Reveal
      </Button>
      <AlertDialog
        open={open}
        onOpenChange={setOpen}
      >
        <AlertDialogContent onCloseAutoFocus={() => setDismissed(fetcher.data)}>
          <AlertDialogHeader>
            <AlertDialogTitle>Reveal “{apiKey.name}”?</AlertDialogTitle>
            <AlertDialogDescription>The plaintext key is decrypted and shown here. Every reveal is recorded in the audit log with your name and address.</AlertDialogDescription>
          </AlertDialogHeader>
          {revealed ? <SecretOnce secret={revealed.secret} title="Treat this key as a password: anyone with it can act as its owner." /> : null}
          <AlertDialogFooter>
            <AlertDialogCancel>{revealed ? "Close" : "Cancel"}</AlertDialogCancel>
            {revealed ? null : (
              <Button onClick={() => fetcher.submit({ intent: "reveal" }, { method: "post" })} disabled={fetcher.state !== "idle"}>
                {fetcher.state !== "idle" ? <Loader2 className="animate-spin" aria-hidden /> : <Eye aria-hidden />} Reveal key
              </Button>
            )}
          </AlertDialogFooter>
        </AlertDialogContent>
      </AlertDialog>
    </>
  );
}

/** A setting shown as text, with an Edit button that turns it into a small form saved on its own. */
function Setting({ field, label, view, editor, disabled }: { field: Editable; label: string; view: ReactNode; editor: (errorId: string, hasError: boolean) => ReactNode; disabled?: boolean }) {
  const fetcher = useFetcher<typeof action>();
  const [editing, setEditing] = useState(false);
  const data = fetcher.data;
  const error = data && !data.ok && data.field === field && fetcher.state === "idle" ? data.error : null;
  useActionToast(fetcher, {
    success: () => `${label} saved`,
    // A refusal about the field shows under it.
    error: (refused) => (refused.field ? null : refused.error),
    onSuccess: () => setEditing(false),
  });
  const saving = fetcher.state !== "idle";
  const errorId = `${field}-error`;
  return (
    <div className="py-3 first:pt-0 last:pb-0" data-setting={field}>
      <div className="flex items-start justify-between gap-3">
        <p className="text-sm font-medium">{label}</p>
        {!editing && !disabled ? (
          <Button variant="ghost" size="sm" className="-mr-2 -mt-1 h-7 px-2 text-muted-foreground" onClick={() => setEditing(true)} aria-label={`Edit ${label}`}>
            <Pencil className="h-3.5 w-3.5" aria-hidden /> Edit
          </Button>
        ) : null}
      </div>
      {editing ? (
        <fetcher.Form method="post" className="mt-2 space-y-2" noValidate>
          <input type="hidden" name="intent" value="update" />
          <input type="hidden" name="field" value={field} />
          {editor(errorId, Boolean(error))}
          {error ? <FieldErrors id={field} errors={error.split("\n")} /> : null}
          <div className="flex gap-2">
            <Button type="submit" size="sm" disabled={saving}>
              {saving ? <Loader2 className="animate-spin" aria-hidden /> : null}
              {saving ? "Saving…" : "Save"}
            </Button>
            <Button type="button" size="sm" variant="ghost" onClick={() => setEditing(false)} disabled={saving}>
              Cancel
            </Button>
          </div>
        </fetcher.Form>
      ) : (
        <div className="mt-1 text-sm text-muted-foreground">{view}</div>
      )}
    </div>
  );
}

function AllowlistEditor({ initial, errorId, hasError }: { initial: string[]; errorId: string; hasError: boolean }) {
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

function ExpiryEditor({ apiKey, maxTtlDays, now }: { apiKey: KeyView; maxTtlDays: number | null; now: string }) {
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

function Settings({ apiKey, grantableScopes, maxTtlDays, now }: { apiKey: KeyView; grantableScopes: Scope[]; maxTtlDays: number | null; now: string }) {
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

function Stat({ label, value, hint, tone }: { label: string; value: ReactNode; hint?: ReactNode; tone?: "danger" | "warning" }) {
  return (
    <Card>
      <CardContent className="p-4">
        <p className="text-xs font-medium text-muted-foreground">{label}</p>
        <p className={cn("mt-1 text-xl font-semibold tabular-nums", tone === "danger" && "text-destructive", tone === "warning" && "text-warning")}>{value}</p>
        {hint ? <p className="mt-0.5 truncate text-xs text-muted-foreground">{hint}</p> : null}
      </CardContent>
    </Card>
  );
}

function GranularitySwitch({ value }: { value: Granularity }) {
  const [search] = useSearchParams();
  return (
    <div role="group" aria-label="Chart period" className="inline-flex h-8 items-center rounded-lg bg-muted p-1 text-muted-foreground">
      {(Object.keys(GRANULARITY) as Granularity[]).map((g) => {
        const next = new URLSearchParams(search);
        next.set("g", g);
        return (
          <Link
            key={g}
            to={`?${next.toString()}`}
            replace
            preventScrollReset
            aria-current={g === value ? "true" : undefined}
            className={cn("inline-flex h-6 items-center rounded-md px-2.5 text-xs font-medium", g === value ? "bg-background text-foreground shadow" : "hover:text-foreground")}
          >
            {g === "minute" ? "Hour" : g === "hour" ? "Day" : "Month"}
          </Link>
        );
      })}
    </div>
  );
}

const AUDIT_LABELS: Record<string, string> = {
  "key.created": "Created",
  "key.updated": "Settings changed",
  "key.disabled": "Disabled",
  "key.enabled": "Enabled",
  "key.revoked": "Revoked",
  "key.rotated": "Rotated",
  "key.revealed": "Revealed",
};

const FIELD_NAMES: Record<string, string> = {
  name: "name",
  description: "description",
  scopes: "scopes",
  allowedIps: "allowed IPs",
  rateLimit: "rate limit",
  expiresAt: "expiry",
  metadata: "metadata",
  disabledAt: "status",
  revokedAt: "status",
};

/** One line a person can read about an audit entry's details. */
function auditSummary(action: string, details: Record<string, unknown>): string | null {
  if (action === "key.rotated" && typeof details.newKeyId === "string") {
    const grace = typeof details.gracePeriodSeconds === "number" && details.gracePeriodSeconds > 0 ? `; the old key works for ${formatGrace(details.gracePeriodSeconds)}` : "";
    return `Replaced by ${details.newKeyId}${grace}`;
  }
  if (action === "key.created" && Array.isArray(details.scopes)) return `Scopes: ${details.scopes.join(", ")}`;
  if (action === "key.updated" && details.changes && typeof details.changes === "object") {
    const fields = [...new Set(Object.keys(details.changes).map((field) => FIELD_NAMES[field] ?? field))];
    return fields.length > 0 ? `Changed ${fields.join(", ")}` : null;
  }
  return null;
}

function formatGrace(seconds: number): string {
  return GRACE_CHOICES.find((choice) => choice.seconds === seconds)?.label ?? `${seconds} s`;
}

export default function KeyDetail() {
  const data = useLoaderData<typeof loader>();
  const { apiKey, usage, now } = data;
  const expiresSoon = apiKey.status === "active" && apiKey.expiresAt !== null && Date.parse(apiKey.expiresAt) - Date.parse(now) < 7 * 86_400_000;

  return (
    <div className="space-y-6">
      <div className="space-y-3">
        <Button asChild variant="ghost" size="sm" className="-ml-2 text-muted-foreground">
          <Link to="/keys">
            <ArrowLeft aria-hidden /> API keys
          </Link>
        </Button>
        <div className="flex flex-col gap-4 lg:flex-row lg:items-end lg:justify-between">
          <div className="min-w-0 space-y-1.5">
            <div className="flex flex-wrap items-center gap-3">
              <h1 className="truncate text-2xl font-semibold tracking-tight">{apiKey.name}</h1>
              <KeyStatusBadge status={apiKey.status} />
              {apiKey.recoverable ? <Badge variant="outline">Recoverable</Badge> : null}
            </div>
            <p className="flex flex-wrap items-center gap-x-2 gap-y-1 text-sm text-muted-foreground">
              <code className="font-mono text-foreground">
                {apiKey.start}…{apiKey.last4}
              </code>
              <span aria-hidden>·</span>
              <span className="font-mono text-xs">{apiKey.id}</span>
              <CopyButton value={apiKey.id} label="Copy id" variant="ghost" className="h-7 px-2 text-xs" />
            </p>
          </div>
          <div className="flex flex-wrap gap-2">
            {apiKey.status !== "revoked" ? (
              <>
                <ToggleDisabled apiKey={apiKey} />
                <RotateDialog apiKey={apiKey} now={now} />
                {data.isAdmin && apiKey.recoverable ? <RevealDialog apiKey={apiKey} /> : null}
              </>
            ) : null}
            {/* Stays mounted once the key is revoked, so its success toast still shows. */}
            <ConfirmRevoke apiKey={apiKey} />
          </div>
        </div>
      </div>

      {expiresSoon ? (
        <Alert variant="warning" data-testid="expiry-countdown">
          <Timer className="h-4 w-4" aria-hidden />
          <AlertTitle>
            {data.rotatedTo ? "Rotated: this key" : "This key"} stops working in <Countdown until={apiKey.expiresAt!} serverNow={now} />
          </AlertTitle>
          <AlertDescription className="text-muted-foreground">
            {data.rotatedTo ? (
              <>
                Its replacement is{" "}
                <Link to={`/keys/${data.rotatedTo}`} className="font-medium text-foreground underline underline-offset-4">
                  {data.rotatedTo}
                </Link>
                . Deploy it before the grace period ends.
              </>
            ) : (
              "Rotate it to issue a replacement with the same settings."
            )}
          </AlertDescription>
        </Alert>
      ) : null}
      {apiKey.rotatedFrom ? (
        <p className="text-sm text-muted-foreground">
          Replaces{" "}
          <Link to={`/keys/${apiKey.rotatedFrom}`} className="font-mono text-foreground underline underline-offset-4">
            {apiKey.rotatedFrom}
          </Link>
          .
        </p>
      ) : null}

      <section aria-label="Totals" className="grid grid-cols-2 gap-4 lg:grid-cols-4">
        <Stat label={`Requests · ${GRANULARITY[data.granularity].label.toLowerCase()}`} value={numberFormat.format(usage.totals.requests)} hint={`${numberFormat.format(apiKey.requestCount)} all time`} />
        <Stat label="Denied" value={numberFormat.format(usage.totals.denied)} tone={usage.totals.denied > 0 ? "danger" : undefined} hint="401/403 responses" />
        <Stat label="Rate limited" value={numberFormat.format(usage.totals.rateLimited)} tone={usage.totals.rateLimited > 0 ? "warning" : undefined} hint="429 responses" />
        <Stat label="Last used" value={<RelativeTime iso={usage.lastUsedAt} now={now} fallback="Never" />} hint={usage.lastUsedIp ? <span className="font-mono" data-testid="last-used-ip">from {usage.lastUsedIp}</span> : "No requests yet"} />
      </section>

      <div className="grid gap-6 lg:grid-cols-3">
        <div className="min-w-0 space-y-6 lg:col-span-2">
          <Card>
            <CardHeader className="flex flex-col gap-3 space-y-0 sm:flex-row sm:items-start sm:justify-between">
              <div className="space-y-1.5">
                <CardTitle>Usage</CardTitle>
                <CardDescription>Requests per {data.granularity}, by outcome.</CardDescription>
              </div>
              <GranularitySwitch value={data.granularity} />
            </CardHeader>
            <CardContent className="space-y-3 px-2 sm:px-6">
              <UsageChart points={usage.points} bucket={data.granularity} label={`Requests with ${apiKey.name}, ${GRANULARITY[data.granularity].label.toLowerCase()}`} className="h-56" />
              <ChartLegend className="px-4 sm:px-0" />
            </CardContent>
          </Card>

          <Card>
            <CardHeader>
              <CardTitle>Recent requests</CardTitle>
              <CardDescription>The latest {data.requests.length || ""} requests made with this key, newest first.</CardDescription>
            </CardHeader>
            <CardContent className="p-0">
              {data.requests.length === 0 ? (
                <p className="px-6 pb-6 text-sm text-muted-foreground">No requests yet. Call the API with this key and they appear here within seconds.</p>
              ) : (
                <Table data-testid="recent-requests">
                  <TableHeader>
                    <TableRow className="hover:bg-transparent">
                      <TableHead className="pl-6">When</TableHead>
                      <TableHead>Request</TableHead>
                      <TableHead>Status</TableHead>
                      <TableHead className="hidden md:table-cell">Address</TableHead>
                      <TableHead className="hidden pr-6 text-right sm:table-cell">Time</TableHead>
                    </TableRow>
                  </TableHeader>
                  <TableBody>
                    {data.requests.map((entry) => (
                      <TableRow key={entry.id}>
                        <TableCell className="whitespace-nowrap pl-6">
                          <RelativeTime iso={entry.occurredAt} now={now} />
                        </TableCell>
                        <TableCell className="max-w-[14rem]">
                          <span className="truncate font-mono text-xs">
                            <span className="font-semibold">{entry.method}</span> {entry.path}
                          </span>
                        </TableCell>
                        <TableCell>
                          <Badge variant={statusTone(entry.status)} className="font-mono">
                            {entry.status}
                          </Badge>
                        </TableCell>
                        <TableCell className="hidden font-mono text-xs md:table-cell">{entry.clientIp ?? "—"}</TableCell>
                        <TableCell className="hidden pr-6 text-right font-mono text-xs tabular-nums sm:table-cell">{entry.durationMs.toFixed(1)} ms</TableCell>
                      </TableRow>
                    ))}
                  </TableBody>
                </Table>
              )}
            </CardContent>
          </Card>

          <Card>
            <CardHeader>
              <CardTitle className="flex items-center gap-2">
                <ScrollText className="h-4 w-4 text-muted-foreground" aria-hidden /> Audit trail
              </CardTitle>
              <CardDescription>Who changed this key, and when.</CardDescription>
            </CardHeader>
            <CardContent>
              {data.audit.length === 0 ? (
                <p className="text-sm text-muted-foreground">Nothing recorded yet.</p>
              ) : (
                <ol className="relative space-y-4 border-l pl-5" data-testid="audit-trail">
                  {data.audit.map((entry) => {
                    const summary = auditSummary(entry.action, entry.details);
                    return (
                      <li key={entry.id} className="relative">
                        <span className={cn("absolute -left-[25px] top-1.5 h-2.5 w-2.5 rounded-full border-2 border-background", entry.action === "key.revoked" ? "bg-destructive" : entry.action === "key.revealed" ? "bg-warning" : "bg-primary")} aria-hidden />
                        <div className="flex flex-wrap items-baseline gap-x-2 text-sm">
                          <span className="font-medium">{AUDIT_LABELS[entry.action] ?? entry.action}</span>
                          <span className="text-muted-foreground">by {entry.actorEmail ?? (entry.actorType === "system" ? "the system" : entry.actorId ?? "unknown")}</span>
                          {entry.actorKeyId ? <span className="font-mono text-xs text-muted-foreground">via {entry.actorKeyId}</span> : null}
                          <span className="ml-auto text-xs text-muted-foreground">
                            <RelativeTime iso={entry.occurredAt} now={now} />
                          </span>
                        </div>
                        {summary ? <p className="mt-0.5 truncate text-xs text-muted-foreground">{summary}</p> : null}
                      </li>
                    );
                  })}
                </ol>
              )}
            </CardContent>
          </Card>
        </div>

        <div className="min-w-0 space-y-6">
          <Settings apiKey={apiKey} grantableScopes={data.grantableScopes} maxTtlDays={data.maxTtlDays} now={now} />
          <Card>
            <CardHeader className="pb-3">
              <CardTitle>Details</CardTitle>
            </CardHeader>
            <CardContent>
              <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
                <dt className="text-muted-foreground">Owner</dt>
                <dd className="truncate text-right" title={data.owner.email}>
                  {data.owner.email}
                </dd>
                <dt className="text-muted-foreground">Created</dt>
                <dd className="text-right">
                  <RelativeTime iso={apiKey.createdAt} now={now} />
                </dd>
                <dt className="text-muted-foreground">Updated</dt>
                <dd className="text-right">
                  <RelativeTime iso={apiKey.updatedAt} now={now} />
                </dd>
                {apiKey.revokedAt ? (
                  <>
                    <dt className="text-muted-foreground">Revoked</dt>
                    <dd className="text-right">
                      <RelativeTime iso={apiKey.revokedAt} now={now} />
                    </dd>
                  </>
                ) : null}
                <dt className="text-muted-foreground">Recoverable</dt>
                <dd className="text-right">{apiKey.recoverable ? "Yes (admins can reveal it)" : "No"}</dd>
              </dl>
            </CardContent>
          </Card>
        </div>
      </div>
    </div>
  );
}

export function ErrorBoundary() {
  return <RouteErrorBoundary />;
}
