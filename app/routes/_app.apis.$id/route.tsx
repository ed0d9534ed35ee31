import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { ArrowLeft, Plus } from "lucide-react";
import { z } from "zod";
import { CopyButton } from "~/components/copy-button";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { KeysTable } from "~/components/keys-table";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card } from "~/components/ui/card";
import { VerificationsCard } from "~/components/verifications-card";
import { describeFailure } from "~/lib/action-errors.server";
import { readUpdateApiForm } from "~/lib/api-form.server";
import { chartPeriod } from "~/lib/chart-period";
import type { FieldErrorMap } from "~/lib/key-form.server";
import { describeKeyRows } from "~/lib/key-rows.server";
import { findApi } from "~/lib/pages.server";
import { readForm } from "~/lib/request.server";
import { requireUser } from "~/session.server";
import { DeleteApi } from "./delete-dialog";
import { ApiSettings } from "./settings-form";
import { KeysNearCreditEnd, TopKeys } from "./top-keys";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.api.name ?? "API"} · Keyward` }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { actor, user } = await requireUser(request, context);
  const api = await findApi(context, actor, params.id);
  const now = context.keyward.clock.now();
  const period = chartPeriod(request.url, now);
  const [page, usage] = await Promise.all([context.keyward.keys.list(actor, { apiId: api.id, limit: 100 }), context.keyward.usageReports.apiUsage(actor, api.id, period)]);
  const rows = await describeKeyRows(context.keyward, actor, page.data);
  return json({
    api,
    usage,
    granularity: period.granularity,
    keys: page.data.map((key) => ({ ...key, ownerEmail: null, ...rows.get(key.id)! })),
    moreKeys: page.nextCursor !== null,
    isAdmin: user.role === "admin",
    now: now.toISOString(),
  });
}

const intentSchema = z.enum(["update", "delete"]);

export async function action({ request, context, params }: ActionFunctionArgs) {
  const { actor } = await requireUser(request, context);
  const api = await findApi(context, actor, params.id);
  const form = await readForm(request);
  const intent = intentSchema.safeParse(form.get("intent"));
  if (!intent.success) return json({ ok: false as const, intent: null, error: "That request was not understood. Reload the page and try again.", fieldErrors: {} as FieldErrorMap }, { status: 400 });
  try {
    if (intent.data === "delete") {
      await context.keyward.apis.archive(actor, api.id);
      return redirect("/apis");
    }
    const read = readUpdateApiForm(form);
    if (!read.ok) return json({ ok: false as const, intent: intent.data, error: "Some fields need attention.", fieldErrors: read.fieldErrors }, { status: 400 });
    const updated = await context.keyward.apis.update(actor, api.id, read.value);
    return json({ ok: true as const, intent: intent.data, name: updated.name });
  } catch (error) {
    const failure = describeFailure(error);
    return json({ ok: false as const, intent: intent.data, error: failure.error, fieldErrors: failure.fieldErrors }, { status: failure.status });
  }
}

export type ApiPageData = ReturnType<typeof useLoaderData<typeof loader>>;

export default function ApiDetail() {
  const { api, usage, granularity, keys, moreKeys, isAdmin, now } = useLoaderData<typeof loader>();
  return (
    <div className="space-y-6">
      <div className="space-y-3">
        <Button asChild variant="ghost" size="sm" className="-ml-2 text-muted-foreground">
          <Link to="/apis">
            <ArrowLeft aria-hidden /> APIs
          </Link>
        </Button>
        <div className="flex flex-col gap-4 lg:flex-row lg:items-end lg:justify-between">
          <div className="min-w-0 space-y-1.5">
            <div className="flex flex-wrap items-center gap-3">
              <h1 className="truncate text-2xl font-semibold tracking-tight">{api.name}</h1>
              {api.archivedAt ? <Badge variant="secondary">Deleted</Badge> : null}
            </div>
            <p className="flex flex-wrap items-center gap-x-2 gap-y-1 text-sm text-muted-foreground">
              <code className="font-mono text-foreground">{api.prefix}_…</code>
              <span aria-hidden>·</span>
              <span className="font-mono text-xs" data-testid="api-id">
                {api.id}
              </span>
              <CopyButton value={api.id} label="Copy id" variant="ghost" className="h-7 px-2 text-xs" />
              <span aria-hidden>·</span>
              <span>
                {api.keyCount.live} live of {api.keyCount.total} keys
              </span>
            </p>
          </div>
          {api.archivedAt ? null : (
            <div className="flex flex-wrap gap-2">
              <Button asChild>
                <Link to={`/apis/${api.id}/keys/new`}>
                  <Plus aria-hidden /> Issue key
                </Link>
              </Button>
              <DeleteApi api={api} />
            </div>
          )}
        </div>
      </div>

      <VerificationsCard
        usage={usage}
        granularity={granularity}
        label={`Verifications of ${api.name}`}
        description="Every check of this API's keys, by outcome: valid, or the reason it was refused."
        empty="No verifications in this period. Each call your service makes to POST /api/v1/verify with one of these keys shows here within seconds."
      >
        {usage.totals.total > 0 ? <TopKeys usage={usage} /> : null}
      </VerificationsCard>

      <KeysNearCreditEnd keys={usage.keysNearCreditEnd} />

      <section aria-labelledby="api-keys-heading" className="space-y-3">
        <h2 id="api-keys-heading" className="text-lg font-semibold">
          Keys
        </h2>
        {keys.length === 0 ? (
          <Card className="border-dashed px-6 py-10 text-center text-sm text-muted-foreground shadow-none">
            No keys yet. Issue one to a customer; your service then checks it with one call to <code className="font-mono text-foreground">POST /api/v1/verify</code>.
          </Card>
        ) : (
          <Card className="overflow-hidden">
            <KeysTable keys={keys} isAdmin={isAdmin} now={now} />
          </Card>
        )}
        {moreKeys ? (
          <p className="text-xs text-muted-foreground">
            The 100 newest keys are shown; the <Link to="/keys" className="underline underline-offset-4">keys page</Link> lists them all.
          </p>
        ) : null}
      </section>

      {api.archivedAt ? null : <ApiSettings api={api} />}
    </div>
  );
}

export function ErrorBoundary() {
  return <RouteErrorBoundary />;
}
