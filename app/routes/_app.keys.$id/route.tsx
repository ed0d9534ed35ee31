import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { TRPCError } from "@trpc/server";
import { ArrowLeft } from "lucide-react";
import { z } from "zod";
import { CopyButton } from "~/components/copy-button";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { KeyStatusBadge } from "~/components/key-status-badge";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { describeFailure } from "~/lib/action-errors.server";
import { formText, issueMessage, parseAddCredits, parseAllowedIps, parseCredits, parseExpiryChange, parseNamedLimits, parseRateLimit, RATE_LIMIT_PAIR_MESSAGE, type FormPart } from "~/lib/key-form.server";
import { describeKeyRows } from "~/lib/key-rows.server";
import { keyIdSchema, updateKeyInput } from "~/lib/key-schemas";
import { ROLE_SCOPES, type Role } from "~/lib/scopes";
import { readForm } from "~/lib/request.server";
import { requireUser } from "~/session.server";
import { AuditPanel } from "./audit-panel";
import { DetailsPanel } from "./details-panel";
import { ExpiryAlert } from "./expiry-alert";
import { chartPeriod } from "~/lib/chart-period";
import { RequestsPanel } from "./requests-panel";
import { RevealDialog } from "./reveal-dialog";
import { ConfirmRevoke } from "./revoke-dialog";
import { RotateDialog } from "./rotate-dialog";
import { SettingsPanel } from "./settings-panel";
import { ToggleDisabled } from "./toggle-disabled";
import { Totals } from "./totals";
import { UsagePanel } from "./usage-panel";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.apiKey.name ?? "Key"} · Keyward` }];

const notFound = () => new Response("No key with this id, or it is not yours to see.", { status: 404 });

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { caller, user, actor } = await requireUser(request, context);
  const id = keyIdSchema.safeParse(params.id);
  if (!id.success) throw notFound();
  const now = context.keyward.clock.now();
  const period = chartPeriod(request.url, now);
  const apiKey = await caller.keys.get({ id: id.data }).catch((error: unknown) => {
    if (error instanceof TRPCError && error.code === "NOT_FOUND") throw notFound();
    throw error;
  });
  const isAdmin = user.role === "admin";
  const [usage, requests, audit, owner] = await Promise.all([
    caller.usage.series({ id: apiKey.id, ...period }),
    caller.usage.requests({ id: apiKey.id, limit: 20 }),
    caller.audit.forKey({ keyId: apiKey.id, limit: 20 }),
    isAdmin ? caller.users.get({ id: apiKey.ownerId }) : Promise.resolve({ id: user.id, email: user.email, role: user.role }),
  ]);
  const belongsTo = (await describeKeyRows(context.keyward, actor, [apiKey])).get(apiKey.id)!;
  // The checkboxes of the permissions editor: the vocabulary of the key's API.
  const vocabulary = apiKey.apiId ? (await context.keyward.apis.get(actor, apiKey.apiId)).permissions : [];
  const rotatedTo = audit.data.find((entry) => entry.action === "key.rotated" && typeof entry.details.newKeyId === "string")?.details.newKeyId as string | undefined;
  return json({
    apiKey,
    usage,
    requests: requests.data,
    audit: audit.data,
    owner: { email: owner.email, role: owner.role as Role },
    rotatedTo: rotatedTo ?? null,
    belongsTo,
    isAdmin,
    granularity: period.granularity,
    vocabulary,
    grantableScopes: ROLE_SCOPES[owner.role as Role].filter((scope) => ROLE_SCOPES[user.role].includes(scope)),
    maxTtlDays: context.keyward.config.maxKeyTtlDays ?? null,
    now: now.toISOString(),
  });
}

// Actions ---------------------------------------------------------------------------------------

const EDITABLE = ["name", "description", "scopes", "permissions", "rateLimit", "ratelimits", "allowedIps", "expiresAt", "credits", "addCredits"] as const;
export type Editable = (typeof EDITABLE)[number];

type Patch = { patch: Record<string, unknown> } | { error: string };

/** A parsed field as the patch it makes, or its messages as the one error its editor shows. */
function patchOf<T>(field: Editable, part: FormPart<T>): Patch {
  return part.ok ? { patch: { [field]: part.value } } : { error: Object.values(part.errors).flat().join("\n") };
}

/** The permissions editor's grants: the vocabulary's ticked boxes and the typed ones (the service checks both). */
function grantsOf(form: FormData): string[] {
  const checked = form.getAll("permissions").filter((value): value is string => typeof value === "string");
  return [...checked, ...formText(form, "grants").split(/[\s,]+/).filter(Boolean)];
}

/** The patch one inline editor submits, or the message for its field. */
function patchFor(field: Editable, form: FormData): Patch {
  switch (field) {
    case "name":
      return { patch: { name: formText(form, "name") } };
    case "description":
      return { patch: { description: formText(form, "description") } };
    case "scopes":
      return { patch: { scopes: form.getAll("scopes").filter((s) => typeof s === "string") } };
    case "permissions":
      return { patch: { permissions: grantsOf(form) } };
    case "allowedIps":
      return patchOf("allowedIps", parseAllowedIps(form));
    case "rateLimit": {
      const rateLimit = parseRateLimit(form, { requests: "requests", windowSeconds: "windowSeconds" });
      // The editor shows one message for the pair of fields.
      return rateLimit.ok ? { patch: { rateLimit: rateLimit.value } } : { error: RATE_LIMIT_PAIR_MESSAGE };
    }
    case "ratelimits": {
      // A form without the editor's rows would read as "no limits": never clear them by accident.
      const limits = parseNamedLimits(form);
      return limits.ok && limits.value === undefined ? { error: "That request was not understood. Reload the page and try again." } : patchOf("ratelimits", limits);
    }
    case "expiresAt":
      return patchOf("expiresAt", parseExpiryChange(form));
    case "credits":
      return patchOf("credits", parseCredits(form));
    case "addCredits":
      return patchOf("addCredits", parseAddCredits(form));
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
        if (!checked.success) return json({ ok: false as const, intent: "update" as const, error: [...new Set(checked.error.issues.map(issueMessage))].join("\n"), field: input.field }, { status: 400 });
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

export type LoaderData = ReturnType<typeof useLoaderData<typeof loader>>;
export type KeyView = LoaderData["apiKey"];

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

      {expiresSoon ? <ExpiryAlert expiresAt={apiKey.expiresAt!} rotatedTo={data.rotatedTo} now={now} /> : null}
      {apiKey.rotatedFrom ? (
        <p className="text-sm text-muted-foreground">
          Replaces{" "}
          <Link to={`/keys/${apiKey.rotatedFrom}`} className="font-mono text-foreground underline underline-offset-4">
            {apiKey.rotatedFrom}
          </Link>
          .
        </p>
      ) : null}

      <Totals apiKey={apiKey} usage={usage} granularity={data.granularity} now={now} />

      <div className="grid gap-6 lg:grid-cols-3">
        <div className="min-w-0 space-y-6 lg:col-span-2">
          <UsagePanel keyName={apiKey.name} usage={usage} granularity={data.granularity} />
          <RequestsPanel requests={data.requests} issued={apiKey.kind === "issued"} now={now} />
          <AuditPanel audit={data.audit} now={now} />
        </div>

        <div className="min-w-0 space-y-6">
          <SettingsPanel apiKey={apiKey} vocabulary={data.vocabulary} grantableScopes={data.grantableScopes} maxTtlDays={data.maxTtlDays} now={now} />
          <DetailsPanel apiKey={apiKey} owner={data.owner} belongsTo={data.belongsTo} now={now} />
        </div>
      </div>
    </div>
  );
}

export function ErrorBoundary() {
  return <RouteErrorBoundary />;
}
