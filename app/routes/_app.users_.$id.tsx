import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useFetcher, useLoaderData } from "@remix-run/react";
import { ArrowLeft, Ban, CirclePlay, KeyRound, Loader2 } from "lucide-react";
import { useState } from "react";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { KeyStatusBadge } from "~/components/key-status-badge";
import { RelativeTime } from "~/components/relative-time";
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
import { Label } from "~/components/ui/label";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { userIdSchema } from "~/lib/key-schemas";
import { useActionToast } from "~/lib/use-action-toast";
import { requireAdmin } from "~/session.server";
import type { action as usersAction } from "./_app.users";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.user.email ?? "User"} · Users · Keyward` }];

const KEYS_SHOWN = 50;

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { caller, user: me } = await requireAdmin(request, context);
  const id = userIdSchema.safeParse(params.id);
  if (!id.success) throw new Response("There is no user with this id.", { status: 404 });
  const [user, keys] = await Promise.all([caller.users.get({ id: id.data }), caller.users.keys({ id: id.data, limit: KEYS_SHOWN })]).catch((error: unknown) => {
    if (error instanceof Error && "code" in error && error.code === "NOT_FOUND") throw new Response("There is no user with this id.", { status: 404 });
    throw error;
  });
  return json({ user, keys: keys.data, moreKeys: keys.nextCursor !== null, isSelf: me.id === user.id, now: context.keyward.clock.now().toISOString() });
}

/** Changes go to the users list's action (one place for them); the toast tells the outcome. */
function useUserChange() {
  const fetcher = useFetcher<typeof usersAction>();
  useActionToast(fetcher, { success: (data) => data.message, error: (data) => data.formError ?? "That change was refused." });
  return {
    submit: (change: { intent: "setRole"; id: string; role: string } | { intent: "disable" | "enable"; id: string }) => fetcher.submit(change, { method: "post", action: "/users" }),
    pending: fetcher.state !== "idle",
    intent: fetcher.formData?.get("intent") ?? null,
  };
}

function Detail({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid gap-1.5">
      <dt className="text-sm font-medium leading-none">{label}</dt>
      <dd className="min-w-0 text-sm text-muted-foreground">{children}</dd>
    </div>
  );
}

export default function UserPage() {
  const { user, keys, moreKeys, isSelf, now } = useLoaderData<typeof loader>();
  const { submit, pending, intent } = useUserChange();
  const [confirmDisable, setConfirmDisable] = useState(false);

  return (
    <>
      <Link to="/users" className="mb-4 inline-flex items-center gap-1.5 rounded-sm text-sm text-muted-foreground hover:text-foreground focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring">
        <ArrowLeft className="h-4 w-4" aria-hidden /> Users
      </Link>
      <div className="mb-6 flex flex-col gap-4 sm:flex-row sm:items-start sm:justify-between">
        <div className="flex min-w-0 items-center gap-4">
          <span aria-hidden className="flex h-12 w-12 shrink-0 items-center justify-center rounded-full bg-primary/10 text-lg font-semibold uppercase">
            {user.email.charAt(0)}
          </span>
          <div className="min-w-0 space-y-1">
            <h1 className="break-all text-xl font-semibold tracking-tight sm:truncate sm:break-normal sm:text-2xl" title={user.email}>
              {user.email}
            </h1>
            <div className="flex flex-wrap items-center gap-2">
              <Badge variant={user.role === "admin" ? "default" : "secondary"}>{user.role === "admin" ? "Admin" : "Member"}</Badge>
              {user.disabledAt ? (
                <Badge variant="muted" data-status="disabled">
                  <span className="h-1.5 w-1.5 rounded-full bg-muted-foreground" aria-hidden />
                  Disabled
                </Badge>
              ) : (
                <Badge variant="success" data-status="active">
                  <span className="h-1.5 w-1.5 rounded-full bg-success" aria-hidden />
                  Active
                </Badge>
              )}
              {isSelf ? <span className="text-xs text-muted-foreground">This is you</span> : null}
              <code className="font-mono text-xs text-muted-foreground">{user.id}</code>
            </div>
          </div>
        </div>
        {isSelf ? null : user.disabledAt ? (
          <Button variant="outline" onClick={() => submit({ intent: "enable", id: user.id })} disabled={pending}>
            {pending && intent === "enable" ? <Loader2 className="animate-spin" aria-hidden /> : <CirclePlay aria-hidden />} Enable user
          </Button>
        ) : (
          <Button variant="outline" className="text-destructive hover:bg-destructive/10 hover:text-destructive" onClick={() => setConfirmDisable(true)} disabled={pending}>
            {pending && intent === "disable" ? <Loader2 className="animate-spin" aria-hidden /> : <Ban aria-hidden />} Disable user…
          </Button>
        )}
      </div>

      <div className="grid gap-6 lg:grid-cols-3">
        <Card className="lg:col-span-1">
          <CardHeader>
            <CardTitle>Details</CardTitle>
            <CardDescription>{isSelf ? "Change your own password on the Account page." : "Role decides which scopes their keys may hold."}</CardDescription>
          </CardHeader>
          <CardContent>
            <dl className="grid gap-4">
              <Detail label="Added">
                <RelativeTime iso={user.createdAt} now={now} />
              </Detail>
              {user.disabledAt ? (
                <Detail label="Disabled">
                  <RelativeTime iso={user.disabledAt} now={now} />
                </Detail>
              ) : null}
              <div className="grid gap-2">
                <Label htmlFor="user-role">Role</Label>
                <Select value={user.role} onValueChange={(role) => submit({ intent: "setRole", id: user.id, role })} disabled={isSelf || pending}>
                  <SelectTrigger id="user-role" className="w-full">
                    <SelectValue>{user.role === "admin" ? "Admin" : "Member"}</SelectValue>
                  </SelectTrigger>
                  <SelectContent>
                    <SelectItem value="member">Member: read and write keys of their own</SelectItem>
                    <SelectItem value="admin">Admin: everyone's keys, users and admin scope</SelectItem>
                  </SelectContent>
                </Select>
                {isSelf ? <p className="text-[0.8rem] text-muted-foreground">Another admin can change your role.</p> : null}
              </div>
            </dl>
          </CardContent>
        </Card>

        <Card className="overflow-hidden lg:col-span-2">
          <CardHeader>
            <CardTitle>API keys</CardTitle>
            <CardDescription>
              {keys.length === 0
                ? "Keys this user owns."
                : moreKeys
                  ? `The ${keys.length} newest keys this user owns.`
                  : `${keys.length} ${keys.length === 1 ? "key" : "keys"} owned by this user.`}
              {user.disabledAt && keys.length > 0 ? " They stop working while the user is disabled." : ""}
            </CardDescription>
          </CardHeader>
          {keys.length === 0 ? (
            <CardContent>
              <div className="flex flex-col items-center gap-3 rounded-lg border border-dashed px-6 py-10 text-center">
                <div className="flex h-10 w-10 items-center justify-center rounded-full bg-muted">
                  <KeyRound className="h-5 w-5 text-muted-foreground" aria-hidden />
                </div>
                <p className="max-w-xs text-sm text-muted-foreground">No keys yet. Keys they create, or that an admin creates for them, appear here.</p>
              </div>
            </CardContent>
          ) : (
            <Table>
              <TableHeader>
                <TableRow className="hover:bg-transparent">
                  <TableHead className="pl-6">Name</TableHead>
                  <TableHead>Status</TableHead>
                  <TableHead className="hidden md:table-cell">Scopes</TableHead>
                  <TableHead className="hidden sm:table-cell">Last used</TableHead>
                  <TableHead className="hidden pr-6 xl:table-cell">Expires</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {keys.map((key) => (
                  <TableRow key={key.id} data-key-id={key.id}>
                    <TableCell className="max-w-[12rem] pl-6 sm:max-w-[16rem]">
                      <Link to={`/keys/${key.id}`} className="block truncate font-medium hover:underline focus-visible:underline focus-visible:outline-none" title={key.name}>
                        {key.name}
                      </Link>
                      <code className="font-mono text-xs text-muted-foreground">
                        {key.start}…{key.last4}
                      </code>
                    </TableCell>
                    <TableCell>
                      <KeyStatusBadge status={key.status} />
                    </TableCell>
                    <TableCell className="hidden md:table-cell">
                      <div className="flex gap-1">
                        {key.scopes.map((scope) => (
                          <Badge key={scope} variant={scope === "admin" ? "warning" : "outline"} className="px-1.5 font-mono font-medium">
                            {scope}
                          </Badge>
                        ))}
                      </div>
                    </TableCell>
                    <TableCell className="hidden whitespace-nowrap sm:table-cell">
                      <RelativeTime iso={key.lastUsedAt} now={now} fallback="Never" />
                    </TableCell>
                    <TableCell className="hidden whitespace-nowrap pr-6 xl:table-cell">
                      <RelativeTime iso={key.expiresAt} now={now} fallback="Never" />
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          )}
        </Card>
      </div>

      <AlertDialog open={confirmDisable} onOpenChange={setConfirmDisable}>
        <AlertDialogContent>
          <AlertDialogHeader>
            <AlertDialogTitle>Disable {user.email}?</AlertDialogTitle>
            <AlertDialogDescription>
              Every session they have ends now, so they are signed out everywhere and cannot sign in again. Their API keys stop working until you enable them again.
            </AlertDialogDescription>
          </AlertDialogHeader>
          <AlertDialogFooter>
            <AlertDialogCancel>Cancel</AlertDialogCancel>
            <AlertDialogAction className={buttonVariants({ variant: "destructive" })} onClick={() => submit({ intent: "disable", id: user.id })}>
              Disable user
            </AlertDialogAction>
          </AlertDialogFooter>
        </AlertDialogContent>
      </AlertDialog>
    </>
  );
}

export function ErrorBoundary() {
  return <RouteErrorBoundary />;
}
