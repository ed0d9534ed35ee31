import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useFetcher, useLoaderData } from "@remix-run/react";
import { Loader2, UserPlus } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { toast } from "sonner";
import { RouteErrorBoundary } from "~/components/error-boundary";
import { fieldIds, FormField } from "~/components/form-field";
import { PageHeader } from "~/components/page-header";
import { RelativeTime } from "~/components/relative-time";
import { Alert, AlertDescription } from "~/components/ui/alert";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card } from "~/components/ui/card";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle, DialogTrigger } from "~/components/ui/dialog";
import { Input } from "~/components/ui/input";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { describeFailure } from "~/lib/action-errors.server";
import { MIN_PASSWORD_LENGTH } from "~/services/passwords.server";
import { requireAdmin } from "~/session.server";

export const meta: MetaFunction = () => [{ title: "Users · Keyward" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller, user } = await requireAdmin(request, context);
  const users = await caller.users.list();
  return json({ users, currentUserId: user.id, minPasswordLength: MIN_PASSWORD_LENGTH, now: context.keyward.clock.now().toISOString() });
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { caller } = await requireAdmin(request, context);
  const form = Object.fromEntries(await request.formData());
  if (form.intent !== "create") return json({ ok: false as const, formError: "That request was not understood.", fieldErrors: {} }, { status: 400 });
  try {
    const user = await caller.users.create({ email: String(form.email ?? ""), password: String(form.password ?? ""), role: form.role === "admin" ? "admin" : "member" });
    return json({ ok: true as const, email: user.email });
  } catch (error) {
    const failure = describeFailure(error);
    const formError = Object.keys(failure.fieldErrors).length > 0 ? null : failure.error;
    return json({ ok: false as const, formError, fieldErrors: failure.fieldErrors }, { status: failure.status });
  }
}

function CreateUserDialog({ minPasswordLength }: { minPasswordLength: number }) {
  const fetcher = useFetcher<typeof action>();
  const [open, setOpen] = useState(false);
  const [role, setRole] = useState("member");
  const handled = useRef<unknown>(null);
  const pending = fetcher.state !== "idle";
  const result = fetcher.data;
  const errors: Record<string, string[]> = result && !result.ok ? result.fieldErrors : {};

  useEffect(() => {
    if (fetcher.state !== "idle" || !result || handled.current === result) return;
    handled.current = result;
    if (result.ok) {
      toast.success(`Created ${result.email}`);
      setOpen(false);
      setRole("member");
    }
  }, [fetcher.state, result]);

  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>
        <Button>
          <UserPlus aria-hidden /> Add user
        </Button>
      </DialogTrigger>
      <DialogContent className="sm:max-w-md">
        <fetcher.Form method="post" className="grid gap-4" noValidate>
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
          <FormField id="user-password" label="Initial password" errors={errors.password} hint={`At least ${minPasswordLength} characters. Share it with them over a safe channel.`}>
            <Input {...fieldIds("user-password", errors.password, true)} name="password" type="password" autoComplete="new-password" required />
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

export default function UsersPage() {
  const { users, currentUserId, minPasswordLength, now } = useLoaderData<typeof loader>();
  return (
    <>
      <PageHeader title="Users" description="People who can sign in to this Keyward dashboard." actions={<CreateUserDialog minPasswordLength={minPasswordLength} />} />
      <Card className="overflow-hidden">
        <Table>
          <TableHeader>
            <TableRow className="hover:bg-transparent">
              <TableHead className="pl-4">Email</TableHead>
              <TableHead>Role</TableHead>
              <TableHead>Status</TableHead>
              <TableHead className="hidden sm:table-cell">Added</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {users.map((user) => (
              <TableRow key={user.id}>
                <TableCell className="max-w-[20rem] truncate pl-4 font-medium">
                  {user.email}
                  {user.id === currentUserId ? <span className="ml-2 text-xs font-normal text-muted-foreground">(you)</span> : null}
                </TableCell>
                <TableCell>
                  <Badge variant={user.role === "admin" ? "default" : "secondary"} className="capitalize">
                    {user.role}
                  </Badge>
                </TableCell>
                <TableCell>{user.disabledAt ? <Badge variant="muted">Disabled</Badge> : <Badge variant="success">Active</Badge>}</TableCell>
                <TableCell className="hidden sm:table-cell">
                  <RelativeTime iso={user.createdAt} now={now} />
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </Card>
    </>
  );
}

export function ErrorBoundary() {
  return <RouteErrorBoundary />;
}
