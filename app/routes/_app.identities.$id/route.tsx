import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { ArrowLeft, Ban, Trash2, XCircle } from "lucide-react";
import { z } from "zod";
import { CopyButton } from "~/components/copy-button";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { KeysTable } from "~/components/keys-table";
import { RelativeTime } from "~/components/relative-time";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "~/components/ui/card";
import { VerificationsCard } from "~/components/verifications-card";
import { describeFailure } from "~/lib/action-errors.server";
import { chartPeriod } from "~/lib/chart-period";
import { describeKeyRows } from "~/lib/key-rows.server";
import { findIdentity } from "~/lib/pages.server";
import { readForm } from "~/lib/request.server";
import { updateIdentityInput } from "~/lib/apis-schemas";
import { issueMessage, parseNamedLimits } from "~/lib/key-form.server";
import { requireUser } from "~/session.server";
import { BulkDialog } from "./bulk-dialog";
import { SharedLimits } from "./shared-limits";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.identity.externalId ?? "Identity"} · Keyward` }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { actor, user } = await requireUser(request, context);
  const identity = await findIdentity(context, actor, params.id);
  const now = context.keyward.clock.now();
  const period = chartPeriod(request.url, now);
  const [api, page, usage] = await Promise.all([
    context.keyward.apis.get(actor, identity.apiId),
    context.keyward.keys.list(actor, { identityId: identity.id, limit: 100 }),
    context.keyward.usageReports.identityUsage(actor, identity.id, period),
  ]);
  const rows = await describeKeyRows(context.keyward, actor, page.data);
  const keys = page.data.map((key) => ({ ...key, ownerEmail: null, ...rows.get(key.id)! }));
  return json({
    identity,
    api: { id: api.id, name: api.name },
    keys,
    usage,
    granularity: period.granularity,
    moreKeys: page.nextCursor !== null,
    // What each bulk action touches, counted as the service picks them: not revoked; not revoked and not disabled.
    revocable: keys.filter((key) => key.revokedAt === null).length,
    disableable: keys.filter((key) => key.revokedAt === null && key.disabledAt === null).length,
    isAdmin: user.role === "admin",
    now: now.toISOString(),
  });
}

const intentSchema = z.enum(["revoke-keys", "disable-keys", "delete", "ratelimits"]);
const plural = (count: number) => `${count} key${count === 1 ? "" : "s"}`;

export async function action({ request, context, params }: ActionFunctionArgs) {
  const { actor } = await requireUser(request, context);
  const identity = await findIdentity(context, actor, params.id);
  const form = await readForm(request);
  const intent = intentSchema.safeParse(form.get("intent"));
  if (!intent.success) return json({ ok: false as const, error: "That request was not understood. Reload the page and try again." }, { status: 400 });
  try {
    switch (intent.data) {
      case "revoke-keys": {
        const { count } = await context.keyward.identities.revokeKeys(actor, identity.id);
        return json({ ok: true as const, message: `Revoked ${plural(count)} of ${identity.externalId}` });
      }
      case "disable-keys": {
        const { count } = await context.keyward.identities.disableKeys(actor, identity.id);
        return json({ ok: true as const, message: `Disabled ${plural(count)} of ${identity.externalId}` });
      }
      case "delete":
        await context.keyward.identities.delete(actor, identity.id);
        return redirect(`/identities?api=${identity.apiId}`);
      case "ratelimits": {
        const limits = parseNamedLimits(form);
        const checked = limits.ok && limits.value !== undefined ? updateIdentityInput.safeParse({ ratelimits: limits.value }) : null;
        if (!limits.ok) return json({ ok: false as const, error: "Some limits need fixing", fieldErrors: limits.errors.ratelimits ?? [] }, { status: 400 });
        if (!checked) return json({ ok: false as const, error: "That request was not understood. Reload the page and try again." }, { status: 400 });
        if (!checked.success) return json({ ok: false as const, error: "Some limits need fixing", fieldErrors: [...new Set(checked.error.issues.map(issueMessage))] }, { status: 400 });
        await context.keyward.identities.update(actor, identity.id, checked.data);
        return json({ ok: true as const, message: `Shared rate limits of ${identity.externalId} saved` });
      }
    }
  } catch (error) {
    const failure = describeFailure(error);
    // A refused limit (KEYWARD_MAX_RATE_LIMIT) shows under the limits editor.
    const fieldErrors = failure.fieldErrors.ratelimits;
    if (intent.data === "ratelimits" && fieldErrors) return json({ ok: false as const, error: failure.error, fieldErrors }, { status: failure.status });
    return json({ ok: false as const, error: failure.error }, { status: failure.status });
  }
}

export default function IdentityDetail() {
  const { identity, api, keys, usage, granularity, moreKeys, revocable, disableable, isAdmin, now } = useLoaderData<typeof loader>();
  const live = identity.keyCount.live;
  const meta = Object.keys(identity.meta).length > 0 ? JSON.stringify(identity.meta, null, 2) : null;
  return (
    <div className="space-y-6">
      <div className="space-y-3">
        <Button asChild variant="ghost" size="sm" className="-ml-2 text-muted-foreground">
          <Link to="/identities">
            <ArrowLeft aria-hidden /> Identities
          </Link>
        </Button>
        <div className="flex flex-col gap-4 lg:flex-row lg:items-end lg:justify-between">
          <div className="min-w-0 space-y-1.5">
            <h1 className="break-all font-mono text-2xl font-semibold tracking-tight">{identity.externalId}</h1>
            <p className="flex flex-wrap items-center gap-x-2 gap-y-1 text-sm text-muted-foreground">
              <span>
                Customer of{" "}
                <Link to={`/apis/${api.id}`} className="text-foreground underline underline-offset-4">
                  {api.name}
                </Link>
              </span>
              <span aria-hidden>·</span>
              <span className="font-mono text-xs">{identity.id}</span>
              <CopyButton value={identity.id} label="Copy id" variant="ghost" className="h-7 px-2 text-xs" />
            </p>
          </div>
          <div className="flex flex-wrap gap-2">
            <BulkDialog
              intent="disable-keys"
              label="Disable all keys"
              icon={Ban}
              count={disableable}
              title={`Disable ${disableable === 1 ? "the 1 enabled key" : `all ${disableable} enabled keys`} of ${identity.externalId}?`}
              description="Verification answers DISABLED for them until each is enabled again. One audit entry records the keys."
              confirm={`Disable ${disableable === 1 ? "1 key" : `${disableable} keys`}`}
            />
            <BulkDialog
              intent="revoke-keys"
              label="Revoke all keys"
              icon={XCircle}
              count={revocable}
              destructive
              title={`Revoke ${revocable === 1 ? "the 1 key" : `all ${revocable} keys`} of ${identity.externalId}?`}
              description="Verification answers REVOKED for them from now on, on every instance. Revoking is permanent. One audit entry records the keys."
              confirm={`Revoke ${revocable === 1 ? "1 key" : `${revocable} keys`}`}
            />
            <BulkDialog
              intent="delete"
              label="Delete identity"
              icon={Trash2}
              count={null}
              destructive
              title={`Delete ${identity.externalId}?`}
              description={
                live > 0
                  ? `It still has ${live} live key${live === 1 ? "" : "s"}: Keyward refuses to delete it until they are revoked.`
                  : "Its revoked and expired keys stay, no longer attached to anyone. The external id becomes free again."
              }
              confirm="Delete identity"
            />
          </div>
        </div>
      </div>

      <VerificationsCard
        usage={usage}
        granularity={granularity}
        label={`Verifications of the keys of ${identity.externalId}`}
        description="Every check of this customer's keys together, by outcome: valid, or the reason it was refused."
        empty="No verifications of this customer's keys in this period."
      />

      <div className="grid gap-6 lg:grid-cols-3">
        <section aria-labelledby="identity-keys-heading" className="min-w-0 space-y-3 lg:col-span-2">
          <h2 id="identity-keys-heading" className="text-lg font-semibold">
            Keys <span className="text-sm font-normal text-muted-foreground">({live} live of {identity.keyCount.total})</span>
          </h2>
          {keys.length === 0 ? (
            <Card className="border-dashed px-6 py-10 text-center text-sm text-muted-foreground shadow-none">No keys.</Card>
          ) : (
            <Card className="overflow-hidden">
              <KeysTable keys={keys} isAdmin={isAdmin} now={now} />
            </Card>
          )}
          {moreKeys ? <p className="text-xs text-muted-foreground">The 100 newest keys are shown.</p> : null}
        </section>
        <div className="min-w-0 space-y-6">
          <SharedLimits limits={identity.ratelimits} />
          <Card className="h-fit">
            <CardHeader className="pb-3">
              <CardTitle>Details</CardTitle>
            </CardHeader>
            <CardContent className="space-y-4 text-sm">
              <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2">
                <dt className="text-muted-foreground">Created</dt>
                <dd className="text-right">
                  <RelativeTime iso={identity.createdAt} now={now} />
                </dd>
                <dt className="text-muted-foreground">Updated</dt>
                <dd className="text-right">
                  <RelativeTime iso={identity.updatedAt} now={now} />
                </dd>
              </dl>
              <div className="space-y-1.5">
                <p className="font-medium">Metadata</p>
                {meta ? (
                  <pre className="overflow-x-auto rounded-md border bg-muted p-3 font-mono text-xs" aria-label="Metadata">
                    {meta}
                  </pre>
                ) : (
                  <p className="text-muted-foreground">None. Verification answers carry it as identity.meta.</p>
                )}
              </div>
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
