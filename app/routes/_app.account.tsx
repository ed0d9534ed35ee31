import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction, type SerializeFrom } from "@remix-run/node";
import { useFetcher, useLoaderData } from "@remix-run/react";
import { Laptop, Loader2, LogOut, Smartphone } from "lucide-react";
import { useRef } from "react";
import { z } from "zod";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { fieldIds, FormField } from "~/components/form-field";
import { PageHeader } from "~/components/page-header";
import { RelativeTime } from "~/components/relative-time";
import { Alert, AlertDescription } from "~/components/ui/alert";
import {
  AlertDialog,
  AlertDialogAction,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogHeader,
  AlertDialogTitle,
  AlertDialogTrigger,
} from "~/components/ui/alert-dialog";
import { Badge } from "~/components/ui/badge";
import { Button, buttonVariants } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "~/components/ui/card";
import { Input } from "~/components/ui/input";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { describeFailure } from "~/lib/action-errors.server";
import { useActionToast, type ActionToastOptions } from "~/lib/use-action-toast";
import { sessionHandleSchema } from "~/services/auth.server";
import { MIN_PASSWORD_LENGTH } from "~/services/passwords.server";
import { requireUser } from "~/session.server";
import { readForm } from "~/lib/request.server";

export const meta: MetaFunction = () => [{ title: "Account · Keyward" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller, user } = await requireUser(request, context);
  const sessions = await caller.account.sessions();
  return json({ user: { email: user.email, role: user.role }, sessions, minPasswordLength: MIN_PASSWORD_LENGTH, now: context.keyward.clock.now().toISOString() });
}

const accountAction = z.discriminatedUnion("intent", [
  // Lengths are checked by the procedure, which answers them as field errors.
  z.object({ intent: z.literal("changePassword"), currentPassword: z.string(), newPassword: z.string(), confirmPassword: z.string() }),
  z.object({ intent: z.literal("endSession"), handle: sessionHandleSchema }),
  z.object({ intent: z.literal("endOtherSessions") }),
]);

type Failure = { ok: false; intent: string | null; formError: string | null; fieldErrors: Record<string, string[]> };

export async function action({ request, context }: ActionFunctionArgs) {
  const { caller } = await requireUser(request, context);
  const parsed = accountAction.safeParse(Object.fromEntries(await readForm(request)));
  if (!parsed.success) return json<Failure>({ ok: false, intent: null, formError: "That request was not understood. Reload the page and try again.", fieldErrors: {} }, { status: 400 });
  const input = parsed.data;
  try {
    switch (input.intent) {
      case "changePassword": {
        if (input.newPassword !== input.confirmPassword) {
          return json<Failure>({ ok: false, intent: input.intent, formError: null, fieldErrors: { confirmPassword: ["The two new passwords differ"] } }, { status: 422 });
        }
        const { otherSessionsEnded } = await caller.account.changePassword({ currentPassword: input.currentPassword, newPassword: input.newPassword });
        const others = otherSessionsEnded === 0 ? "" : ` ${otherSessionsEnded} other ${otherSessionsEnded === 1 ? "session was" : "sessions were"} signed out.`;
        return json({ ok: true as const, intent: input.intent, message: `Password changed.${others}` });
      }
      case "endSession":
        await caller.account.endSession({ handle: input.handle });
        return json({ ok: true as const, intent: input.intent, message: "Session ended: that device is signed out." });
      case "endOtherSessions": {
        const { ended } = await caller.account.endOtherSessions();
        return json({ ok: true as const, intent: input.intent, message: ended === 0 ? "No other sessions were open." : `Signed out ${ended} other ${ended === 1 ? "session" : "sessions"}.` });
      }
    }
  } catch (error) {
    const failure = describeFailure(error);
    const formError = Object.keys(failure.fieldErrors).length > 0 ? null : failure.error;
    return json<Failure>({ ok: false, intent: input.intent, formError, fieldErrors: failure.fieldErrors }, { status: failure.status });
  }
}

/** Each answer's toast: field errors show by their fields instead. */
const outcomeToast: ActionToastOptions<SerializeFrom<typeof action>> = { success: (data) => data.message, error: (data) => data.formError };

function PasswordForm({ email, minPasswordLength }: { email: string; minPasswordLength: number }) {
  const fetcher = useFetcher<typeof action>();
  const form = useRef<HTMLFormElement>(null);
  const pending = fetcher.state !== "idle";
  const result = fetcher.data;
  const errors: Record<string, string[]> = result && !result.ok ? result.fieldErrors : {};
  useActionToast(fetcher, { ...outcomeToast, onSuccess: () => form.current?.reset() });

  return (
    <Card>
      <fetcher.Form ref={form} method="post" noValidate>
        <CardHeader>
          <CardTitle>Password</CardTitle>
          <CardDescription>Changing it signs you out on every other device; this one stays signed in.</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          <input type="hidden" name="intent" value="changePassword" />
          {result && !result.ok && result.formError ? (
            <Alert variant="destructive">
              <AlertDescription>{result.formError}</AlertDescription>
            </Alert>
          ) : null}
          {/* Lets password managers file the new password under the right account. */}
          <input type="email" name="username" autoComplete="username" value={email} readOnly hidden />
          <FormField id="current-password" label="Current password" errors={errors.currentPassword}>
            <Input {...fieldIds("current-password", errors.currentPassword)} name="currentPassword" type="password" autoComplete="current-password" required />
          </FormField>
          <FormField id="new-password" label="New password" errors={errors.newPassword} hint={`At least ${minPasswordLength} characters.`}>
            <Input {...fieldIds("new-password", errors.newPassword, true)} name="newPassword" type="password" autoComplete="new-password" required minLength={minPasswordLength} />
          </FormField>
          <FormField id="confirm-password" label="Repeat new password" errors={errors.confirmPassword}>
            <Input {...fieldIds("confirm-password", errors.confirmPassword)} name="confirmPassword" type="password" autoComplete="new-password" required />
          </FormField>
        </CardContent>
        <CardFooter className="justify-end border-t px-6 py-4">
          <Button type="submit" disabled={pending}>
            {pending ? <Loader2 className="animate-spin" aria-hidden /> : null}
            {pending ? "Changing…" : "Change password"}
          </Button>
        </CardFooter>
      </fetcher.Form>
    </Card>
  );
}

/** "Chrome on macOS" from a user agent: enough to recognise a device, not a fingerprint. */
function describeDevice(userAgent: string | null): { label: string; mobile: boolean } {
  if (!userAgent) return { label: "Unknown device", mobile: false };
  const browser = /Edg\//.test(userAgent)
    ? "Edge"
    : /OPR\//.test(userAgent)
      ? "Opera"
      : /Firefox\//.test(userAgent)
        ? "Firefox"
        : /Chrom(e|ium)\//.test(userAgent)
          ? "Chrome"
          : /Safari\//.test(userAgent)
            ? "Safari"
            : /curl\//i.test(userAgent)
              ? "curl"
              : null;
  const os = /Android/.test(userAgent)
    ? "Android"
    : /iPhone|iPad|iPod/.test(userAgent)
      ? "iOS"
      : /Windows/.test(userAgent)
        ? "Windows"
        : /Mac OS X|Macintosh/.test(userAgent)
          ? "macOS"
          : /CrOS/.test(userAgent)
            ? "ChromeOS"
            : /Linux/.test(userAgent)
              ? "Linux"
              : null;
  const mobile = /Mobile|Android|iPhone|iPad/.test(userAgent);
  if (browser && os) return { label: `${browser} on ${os}`, mobile };
  return { label: browser ?? os ?? "Unknown device", mobile };
}

type SessionRow = ReturnType<typeof useLoaderData<typeof loader>>["sessions"][number];

function EndSessionButton({ session, pending, onEnd }: { session: SessionRow; pending: boolean; onEnd: () => void }) {
  return (
    <Button variant="ghost" size="sm" disabled={pending} aria-label={`End session ${describeDevice(session.userAgent).label}${session.ipAddress ? ` from ${session.ipAddress}` : ""}`} onClick={onEnd}>
      {pending ? <Loader2 className="animate-spin" aria-hidden /> : <LogOut aria-hidden />}
      End
    </Button>
  );
}

function EndOthersButton({ count }: { count: number }) {
  const fetcher = useFetcher<typeof action>();
  useActionToast(fetcher, outcomeToast);
  const pending = fetcher.state !== "idle";
  return (
    <AlertDialog>
      <AlertDialogTrigger asChild>
        <Button variant="outline" disabled={pending || count === 0}>
          {pending ? <Loader2 className="animate-spin" aria-hidden /> : <LogOut aria-hidden />}
          End all other sessions
        </Button>
      </AlertDialogTrigger>
      <AlertDialogContent>
        <AlertDialogHeader>
          <AlertDialogTitle>
            Sign out {count} other {count === 1 ? "session" : "sessions"}?
          </AlertDialogTitle>
          <AlertDialogDescription>Every browser signed in as you, except this one, is signed out at once and has to sign in again.</AlertDialogDescription>
        </AlertDialogHeader>
        <AlertDialogFooter>
          <AlertDialogCancel>Cancel</AlertDialogCancel>
          <AlertDialogAction className={buttonVariants({ variant: "destructive" })} onClick={() => fetcher.submit({ intent: "endOtherSessions" }, { method: "post" })}>
            End other sessions
          </AlertDialogAction>
        </AlertDialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  );
}

function SessionsCard({ sessions, now }: { sessions: SessionRow[]; now: string }) {
  const others = sessions.filter((session) => !session.current).length;
  // One fetcher for the rows: an ended session's row leaves the table, and its outcome must still be told.
  const ending = useFetcher<typeof action>();
  useActionToast(ending, outcomeToast);
  const endingHandle = ending.state !== "idle" ? ending.formData?.get("handle") : null;
  return (
    <Card className="overflow-hidden">
      <CardHeader className="flex flex-col gap-4 space-y-0 sm:flex-row sm:items-start sm:justify-between">
        <div className="space-y-1.5">
          <CardTitle>Sessions</CardTitle>
          <CardDescription>Browsers signed in as you. A session ends after 14 days without use, or when you end it here.</CardDescription>
        </div>
        <EndOthersButton count={others} />
      </CardHeader>
      <Table>
        <TableHeader>
          <TableRow className="hover:bg-transparent">
            <TableHead className="pl-6">Device</TableHead>
            <TableHead className="hidden md:table-cell">IP address</TableHead>
            <TableHead className="hidden sm:table-cell">Signed in</TableHead>
            <TableHead className="hidden lg:table-cell">Expires</TableHead>
            <TableHead className="w-24 pr-6">
              <span className="sr-only">Actions</span>
            </TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          {sessions.map((session) => {
            const device = describeDevice(session.userAgent);
            const Icon = device.mobile ? Smartphone : Laptop;
            return (
              <TableRow key={session.handle} data-session={session.handle} data-current={session.current || undefined}>
                <TableCell className="pl-6">
                  <div className="flex items-center gap-3">
                    <span className="flex h-8 w-8 shrink-0 items-center justify-center rounded-md bg-muted">
                      <Icon className="h-4 w-4 text-muted-foreground" aria-hidden />
                    </span>
                    <div className="min-w-0">
                      <div className="flex flex-wrap items-center gap-2">
                        <span className="whitespace-nowrap font-medium" title={session.userAgent ?? undefined}>
                          {device.label}
                        </span>
                        {session.current ? <Badge variant="success">This device</Badge> : null}
                      </div>
                      <div className="text-xs text-muted-foreground md:hidden">{session.ipAddress ?? "Address not recorded"}</div>
                    </div>
                  </div>
                </TableCell>
                <TableCell className="hidden font-mono text-xs md:table-cell">{session.ipAddress ?? <span className="font-sans text-muted-foreground">Not recorded</span>}</TableCell>
                <TableCell className="hidden whitespace-nowrap sm:table-cell">
                  <RelativeTime iso={session.createdAt} now={now} />
                </TableCell>
                <TableCell className="hidden whitespace-nowrap lg:table-cell">
                  <RelativeTime iso={session.expiresAt} now={now} />
                </TableCell>
                <TableCell className="pr-6 text-right">{session.current ? null : (
                    <EndSessionButton session={session} pending={endingHandle === session.handle} onEnd={() => ending.submit({ intent: "endSession", handle: session.handle }, { method: "post" })} />
                  )}</TableCell>
              </TableRow>
            );
          })}
        </TableBody>
      </Table>
    </Card>
  );
}

export default function AccountPage() {
  const { user, sessions, minPasswordLength, now } = useLoaderData<typeof loader>();
  return (
    <>
      <PageHeader title="Account" description={`Signed in as ${user.email} (${user.role === "admin" ? "admin" : "member"}).`} />
      <div className="grid gap-6 lg:grid-cols-5">
        <div className="lg:col-span-2">
          <PasswordForm email={user.email} minPasswordLength={minPasswordLength} />
        </div>
        <div className="lg:col-span-3">
          <SessionsCard sessions={sessions} now={now} />
        </div>
      </div>
    </>
  );
}

export function ErrorBoundary() {
  return <RouteErrorBoundary />;
}
