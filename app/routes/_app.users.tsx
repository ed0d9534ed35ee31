import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useFetcher, useLoaderData, useSearchParams } from "@remix-run/react";
import { Ban, CirclePlay, Loader2, MoreHorizontal, Search, ShieldCheck, User, UserPlus, Users, X } from "lucide-react";
import { useMemo, useState } from "react";
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
} from "~/components/ui/alert-dialog";
import { Badge } from "~/components/ui/badge";
import { Button, buttonVariants } from "~/components/ui/button";
import { Card } from "~/components/ui/card";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle, DialogTrigger } from "~/components/ui/dialog";
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuLabel, DropdownMenuSeparator, DropdownMenuTrigger } from "~/components/ui/dropdown-menu";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { describeFailure } from "~/lib/action-errors.server";
import { userIdSchema } from "~/lib/key-schemas";
import { useActionToast } from "~/lib/use-action-toast";
import { MIN_PASSWORD_LENGTH } from "~/services/passwords.server";
import type { UserView } from "~/services/users.server";
import { requireAdmin } from "~/session.server";
import { readForm } from "~/lib/request.server";

export const meta: MetaFunction = () => [{ title: "Users · Keyward" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller, user } = await requireAdmin(request, context);
  const users = await caller.users.list();
  return json({ users, currentUserId: user.id, minPasswordLength: MIN_PASSWORD_LENGTH, now: context.keyward.clock.now().toISOString() });
}

// Lengths and formats are the users service's rules, answered as field errors; the form itself is capped at 64 KiB.
const userAction = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("create"), email: z.string(), password: z.string(), role: z.enum(["admin", "member"]).catch("member") }),
  z.object({ intent: z.literal("setRole"), id: userIdSchema, role: z.enum(["admin", "member"]) }),
  z.object({ intent: z.literal("disable"), id: userIdSchema }),
  z.object({ intent: z.literal("enable"), id: userIdSchema }),
]);

type UserAction = z.infer<typeof userAction>;

/** The changes an admin makes to users, from this list and from a user's own page (which posts here). */
export async function action({ request, context }: ActionFunctionArgs) {
  const { caller } = await requireAdmin(request, context);
  const parsed = userAction.safeParse(Object.fromEntries(await readForm(request)));
  if (!parsed.success) return json({ ok: false as const, formError: "That request was not understood. Reload the page and try again.", fieldErrors: {} }, { status: 400 });
  const input = parsed.data;
  try {
    const user =
      input.intent === "create"
        ? await caller.users.create({ email: input.email, password: input.password, role: input.role })
        : input.intent === "setRole"
          ? await caller.users.setRole({ id: input.id, role: input.role })
          : await caller.users[input.intent]({ id: input.id });
    return json({ ok: true as const, intent: input.intent, user, message: doneMessage(input.intent, user) });
  } catch (error) {
    const failure = describeFailure(error);
    const formError = Object.keys(failure.fieldErrors).length > 0 ? null : failure.error;
    return json({ ok: false as const, formError, fieldErrors: failure.fieldErrors }, { status: failure.status });
  }
}

/** What a toast says once a change is done. */
function doneMessage(intent: UserAction["intent"], user: Pick<UserView, "email" | "role">): string {
  switch (intent) {
    case "create":
      return `Created ${user.email}`;
    case "setRole":
      return `${user.email} is now ${user.role === "admin" ? "an admin" : "a member"}`;
    case "disable":
      return `Disabled ${user.email}; their sessions have ended`;
    case "enable":
      return `Enabled ${user.email}`;
  }
}

function CreateUserDialog({ minPasswordLength }: { minPasswordLength: number }) {
  const fetcher = useFetcher<typeof action>();
  const [open, setOpen] = useState(false);
  const [role, setRole] = useState("member");
  const pending = fetcher.state !== "idle";
  const result = fetcher.data;
  const errors: Record<string, string[]> = result && !result.ok ? result.fieldErrors : {};

  useActionToast(fetcher, {
    success: (data) => data.message,
    // The dialog stays open and shows what was refused.
    error: () => null,
    onSuccess: () => {
      setOpen(false);
      setRole("member");
    },
  });

  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>
        <Button>
          <UserPlus aria-hidden /> Add user
        </Button>
      </DialogTrigger>
      <DialogContent className="sm:max-w-md">
        <fetcher.Form method="post" action="/users" className="grid gap-4" noValidate>
          <DialogHeader>
            <DialogTitle>Add a user</DialogTitle>
            <DialogDescription>They sign in with this email and password. Members manage their own keys; admins manage everyone's.</DialogDescription>
          </DialogHeader>
          <input type="hidden" name="intent" value="create" />
          {result && !result.ok && result.formError ? (
            <Alert variant="destructive">
              <AlertDescription>{result.formError}</AlertDescription>
            </Alert>
          ) : null}
          <FormField id="user-email" label="Email" errors={errors.email}>
            <Input {...fieldIds("user-email", errors.email)} name="email" type="email" autoComplete="off" required />
          </FormField>
          <FormField id="user-password" label="Initial password" errors={errors.password} hint={`At least ${minPasswordLength} characters. Share it with them over a safe channel; they can change it on their Account page.`}>
            <Input {...fieldIds("user-password", errors.password, true)} name="password" type="password" autoComplete="new-password" required minLength={minPasswordLength} />
          </FormField>
          <FormField id="user-role" label="Role" errors={errors.role}>
            <Select name="role" value={role} onValueChange={setRole}>
              <SelectTrigger id="user-role">
                <SelectValue>{role === "admin" ? "Admin" : "Member"}</SelectValue>
              </SelectTrigger>
              <SelectContent>
                <SelectItem value="member">Member</SelectItem>
                <SelectItem value="admin">Admin</SelectItem>
              </SelectContent>
            </Select>
          </FormField>
          <DialogFooter>
            <Button type="submit" disabled={pending}>
              {pending ? <Loader2 className="animate-spin" aria-hidden /> : null}
              {pending ? "Adding…" : "Add user"}
            </Button>
          </DialogFooter>
        </fetcher.Form>
      </DialogContent>
    </Dialog>
  );
}

function RoleBadge({ role }: { role: UserView["role"] }) {
  return (
    <Badge variant={role === "admin" ? "default" : "secondary"} data-role={role}>
      {role === "admin" ? "Admin" : "Member"}
    </Badge>
  );
}

function UserStatusBadge({ disabledAt }: { disabledAt: string | null }) {
  return disabledAt ? (
    <Badge variant="muted" data-status="disabled">
      <span className="h-1.5 w-1.5 rounded-full bg-muted-foreground" aria-hidden />
      Disabled
    </Badge>
  ) : (
    <Badge variant="success" data-status="active">
      <span className="h-1.5 w-1.5 rounded-full bg-success" aria-hidden />
      Active
    </Badge>
  );
}

/** Posts a user change to the action and reports the outcome in a toast. */
function useUserChange() {
  const fetcher = useFetcher<typeof action>();
  useActionToast(fetcher, { success: (data) => data.message, error: (data) => data.formError ?? "That change was refused." });
  const submit = (change: Exclude<UserAction, { intent: "create" }>) => fetcher.submit(change, { method: "post", action: "/users" });
  return { submit, pending: fetcher.state !== "idle" };
}

/** The confirmation before disabling someone: it says what happens to their sessions and keys. */
function DisableUserDialog({ email, open, onOpenChange, onConfirm }: { email: string; open: boolean; onOpenChange: (open: boolean) => void; onConfirm: () => void }) {
  return (
    <AlertDialog open={open} onOpenChange={onOpenChange}>
      <AlertDialogContent>
        <AlertDialogHeader>
          <AlertDialogTitle>Disable {email}?</AlertDialogTitle>
          <AlertDialogDescription>
            Every session they have ends now, so they are signed out everywhere and cannot sign in again. Their API keys stop working until you enable them again.
          </AlertDialogDescription>
        </AlertDialogHeader>
        <AlertDialogFooter>
          <AlertDialogCancel>Cancel</AlertDialogCancel>
          <AlertDialogAction className={buttonVariants({ variant: "destructive" })} onClick={onConfirm}>
            Disable user
          </AlertDialogAction>
        </AlertDialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  );
}

function UserActions({ user, isSelf }: { user: UserView; isSelf: boolean }) {
  const { submit, pending } = useUserChange();
  const [confirmDisable, setConfirmDisable] = useState(false);
  const otherRole = user.role === "admin" ? "member" : "admin";

  return (
    <>
      <DropdownMenu>
        <DropdownMenuTrigger asChild>
          <Button variant="ghost" size="icon" className="h-8 w-8" aria-label={`Actions for ${user.email}`} disabled={pending}>
            {pending ? <Loader2 className="animate-spin" /> : <MoreHorizontal />}
          </Button>
        </DropdownMenuTrigger>
        <DropdownMenuContent align="end" className="w-52">
          <DropdownMenuLabel className="truncate text-xs font-normal text-muted-foreground">{user.email}</DropdownMenuLabel>
          <DropdownMenuItem asChild>
            <Link to={`/users/${user.id}`}>
              <User /> View user and keys
            </Link>
          </DropdownMenuItem>
          {isSelf ? null : (
            <>
              <DropdownMenuSeparator />
              <DropdownMenuItem onSelect={() => submit({ intent: "setRole", id: user.id, role: otherRole })}>
                {otherRole === "admin" ? <ShieldCheck /> : <User />} Make {otherRole}
              </DropdownMenuItem>
              {user.disabledAt ? (
                <DropdownMenuItem onSelect={() => submit({ intent: "enable", id: user.id })}>
                  <CirclePlay /> Enable
                </DropdownMenuItem>
              ) : (
                <DropdownMenuItem className="text-destructive focus:bg-destructive/10 focus:text-destructive" onSelect={() => setConfirmDisable(true)}>
                  <Ban /> Disable…
                </DropdownMenuItem>
              )}
            </>
          )}
        </DropdownMenuContent>
      </DropdownMenu>
      <DisableUserDialog email={user.email} open={confirmDisable} onOpenChange={setConfirmDisable} onConfirm={() => submit({ intent: "disable", id: user.id })} />
    </>
  );
}

const STATUS_FILTERS = [
  { value: "all", label: "Everyone" },
  { value: "active", label: "Active" },
  { value: "disabled", label: "Disabled" },
  { value: "admin", label: "Admins" },
] as const;

function matches(user: UserView, q: string, filter: string): boolean {
  if (q && !user.email.includes(q.trim().toLowerCase())) return false;
  if (filter === "active") return !user.disabledAt;
  if (filter === "disabled") return Boolean(user.disabledAt);
  if (filter === "admin") return user.role === "admin";
  return true;
}

export default function UsersPage() {
  const { users, currentUserId, minPasswordLength, now } = useLoaderData<typeof loader>();
  const [params, setParams] = useSearchParams();
  const [q, setQ] = useState(params.get("q") ?? "");
  const filter = STATUS_FILTERS.some((f) => f.value === params.get("show")) ? params.get("show")! : "all";
  // The whole list is loaded (people, not keys: a few hundred at most), so filtering is instant and local.
  const shown = useMemo(() => users.filter((user) => matches(user, q, filter)), [users, q, filter]);
  const admins = users.filter((user) => user.role === "admin" && !user.disabledAt).length;

  const setFilter = (show: string) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (show === "all") next.delete("show");
        else next.set("show", show);
        return next;
      },
      { replace: true, preventScrollReset: true },
    );

  return (
    <>
      <PageHeader
        title="Users"
        description={`People who can sign in to this Keyward dashboard: ${users.length} in all, ${admins} active ${admins === 1 ? "admin" : "admins"}.`}
        actions={<CreateUserDialog minPasswordLength={minPasswordLength} />}
      />
      <div className="space-y-4">
        <form role="search" className="flex flex-col gap-3 sm:flex-row sm:items-center" onSubmit={(event) => event.preventDefault()}>
          <div className="relative w-full sm:max-w-xs">
            <Label htmlFor="user-search" className="sr-only">
              Search users by email
            </Label>
            <Search className="pointer-events-none absolute left-2.5 top-2.5 h-4 w-4 text-muted-foreground" aria-hidden />
            <Input id="user-search" type="search" value={q} onChange={(event) => setQ(event.target.value)} placeholder="Search by email…" className="pl-8" />
          </div>
          <div className="w-full sm:w-40">
            <Select value={filter} onValueChange={setFilter}>
              <SelectTrigger aria-label="Show">
                <SelectValue>{STATUS_FILTERS.find((f) => f.value === filter)?.label}</SelectValue>
              </SelectTrigger>
              <SelectContent>
                {STATUS_FILTERS.map((f) => (
                  <SelectItem key={f.value} value={f.value}>
                    {f.label}
                  </SelectItem>
                ))}
              </SelectContent>
            </Select>
          </div>
          {q || filter !== "all" ? (
            <Button
              type="button"
              variant="ghost"
              size="sm"
              onClick={() => {
                setQ("");
                setFilter("all");
              }}
            >
              <X aria-hidden /> Reset
            </Button>
          ) : null}
        </form>

        {shown.length === 0 ? (
          <Card className="flex flex-col items-center justify-center gap-3 border-dashed px-6 py-14 text-center shadow-none">
            <div className="flex h-12 w-12 items-center justify-center rounded-full bg-muted">
              <Users className="h-6 w-6 text-muted-foreground" aria-hidden />
            </div>
            <div className="space-y-1">
              <h2 className="text-lg font-semibold">No users match</h2>
              <p className="text-sm text-muted-foreground">Try another part of the email, or show everyone.</p>
            </div>
          </Card>
        ) : (
          <Card className="overflow-hidden">
            <Table>
              <TableHeader>
                <TableRow className="hover:bg-transparent">
                  <TableHead className="pl-4">Email</TableHead>
                  <TableHead className="hidden sm:table-cell">Role</TableHead>
                  <TableHead>Status</TableHead>
                  <TableHead className="hidden sm:table-cell">Added</TableHead>
                  <TableHead className="w-12 pr-3">
                    <span className="sr-only">Actions</span>
                  </TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {shown.map((user) => (
                  <TableRow key={user.id} data-user-id={user.id}>
                    <TableCell className="max-w-[13rem] pl-4 sm:max-w-[22rem]">
                      <div className="flex min-w-0 items-center gap-2">
                        <Link to={`/users/${user.id}`} className="truncate font-medium hover:underline focus-visible:underline focus-visible:outline-none" title={user.email}>
                          {user.email}
                        </Link>
                        {user.id === currentUserId ? <span className="shrink-0 text-xs text-muted-foreground">(you)</span> : null}
                      </div>
                      {/* At phone width the role sits under the email instead of in its own column. */}
                      <div className="mt-1 sm:hidden">
                        <RoleBadge role={user.role} />
                      </div>
                    </TableCell>
                    <TableCell className="hidden sm:table-cell">
                      <RoleBadge role={user.role} />
                    </TableCell>
                    <TableCell>
                      <UserStatusBadge disabledAt={user.disabledAt} />
                    </TableCell>
                    <TableCell className="hidden whitespace-nowrap sm:table-cell">
                      <RelativeTime iso={user.createdAt} now={now} />
                    </TableCell>
                    <TableCell className="pr-3 text-right">
                      <UserActions user={user} isSelf={user.id === currentUserId} />
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </Card>
        )}
      </div>
    </>
  );
}

export function ErrorBoundary() {
  return <RouteErrorBoundary />;
}
