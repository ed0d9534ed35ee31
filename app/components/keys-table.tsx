import { Link, useFetcher } from "@remix-run/react";
import { Ban, CirclePlay, Copy, ExternalLink, Loader2, MoreHorizontal, RefreshCw, Trash2 } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";
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
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuLabel, DropdownMenuSeparator, DropdownMenuTrigger } from "~/components/ui/dropdown-menu";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { useActionToast } from "~/lib/use-action-toast";
import { cn } from "~/lib/utils";
import type { action, KeyRowIntent } from "~/routes/_app.keys._index";
import type { ApiKeyView } from "~/services/keys.server";

/**
 * The keys table of the keys page, an API's page and an identity's page. Row actions post to the
 * keys page's action, wherever the table is shown.
 */

/** A key as the table lists it: with its owner's email (admins) and the API and identity it belongs to. */
export type KeyRow = ApiKeyView & { ownerEmail: string | null; api: { id: string; name: string } | null; identity: { id: string; externalId: string } | null };

const DONE: Record<KeyRowIntent, string> = { disable: "Disabled", enable: "Enabled", revoke: "Revoked" };

function KeyActions({ apiKey, onChange }: { apiKey: KeyRow; onChange?: (key: ApiKeyView) => void }) {
  const fetcher = useFetcher<typeof action>();
  const [confirmRevoke, setConfirmRevoke] = useState(false);
  const pending = fetcher.state !== "idle";

  useActionToast(fetcher, { success: (data) => `${DONE[data.intent]} “${data.key.name}”`, error: (data) => data.error, onSuccess: (data) => onChange?.(data.key) });

  const submit = (intent: KeyRowIntent) => fetcher.submit({ intent, id: apiKey.id }, { method: "post", action: "/keys?index" });

  const copyId = async () => {
    try {
      await navigator.clipboard.writeText(apiKey.id);
      toast.success("Key id copied", { description: apiKey.id });
    } catch {
      toast.error("Could not copy: your browser blocked clipboard access.");
    }
  };

  return (
    <>
      <DropdownMenu>
        <DropdownMenuTrigger asChild>
          <Button variant="ghost" size="icon" className="h-8 w-8" aria-label={`Actions for ${apiKey.name}`} disabled={pending}>
            {pending ? <Loader2 className="animate-spin" /> : <MoreHorizontal />}
          </Button>
        </DropdownMenuTrigger>
        <DropdownMenuContent align="end" className="w-48">
          <DropdownMenuLabel className="truncate text-xs font-normal text-muted-foreground">{apiKey.name}</DropdownMenuLabel>
          <DropdownMenuItem asChild>
            <Link to={`/keys/${apiKey.id}`}>
              <ExternalLink /> Open
            </Link>
          </DropdownMenuItem>
          <DropdownMenuItem onSelect={copyId}>
            <Copy /> Copy key id
          </DropdownMenuItem>
          {apiKey.status !== "revoked" ? (
            <>
              <DropdownMenuSeparator />
              <DropdownMenuItem asChild>
                <Link to={`/keys/${apiKey.id}?rotate`}>
                  <RefreshCw /> Rotate…
                </Link>
              </DropdownMenuItem>
              {apiKey.disabledAt ? (
                <DropdownMenuItem onSelect={() => submit("enable")}>
                  <CirclePlay /> Enable
                </DropdownMenuItem>
              ) : (
                <DropdownMenuItem onSelect={() => submit("disable")}>
                  <Ban /> Disable
                </DropdownMenuItem>
              )}
              <DropdownMenuItem className="text-destructive focus:bg-destructive/10 focus:text-destructive" onSelect={() => setConfirmRevoke(true)}>
                <Trash2 /> Revoke…
              </DropdownMenuItem>
            </>
          ) : null}
        </DropdownMenuContent>
      </DropdownMenu>
      <AlertDialog open={confirmRevoke} onOpenChange={setConfirmRevoke}>
        <AlertDialogContent>
          <AlertDialogHeader>
            <AlertDialogTitle>Revoke “{apiKey.name}”?</AlertDialogTitle>
            <AlertDialogDescription>
              Requests using <span className="font-mono text-foreground">{apiKey.start}…{apiKey.last4}</span> will be refused with 401 from now on.
              Revoking is permanent: the key cannot be enabled again.
            </AlertDialogDescription>
          </AlertDialogHeader>
          <AlertDialogFooter>
            <AlertDialogCancel>Cancel</AlertDialogCancel>
            <AlertDialogAction className={buttonVariants({ variant: "destructive" })} onClick={() => submit("revoke")}>
              Revoke key
            </AlertDialogAction>
          </AlertDialogFooter>
        </AlertDialogContent>
      </AlertDialog>
    </>
  );
}

const linkClass = "rounded-sm hover:underline focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring";

/** Root key, or the API (and identity) an issued key belongs to. */
export function KeyKind({ apiKey }: { apiKey: KeyRow }) {
  if (apiKey.kind === "root") {
    return (
      <div className="flex flex-col items-start gap-0.5">
        <Badge variant="secondary">Root</Badge>
        {apiKey.apiIds ? <span className="text-xs text-muted-foreground">{apiKey.apiIds.length === 1 ? "1 API only" : `${apiKey.apiIds.length} APIs only`}</span> : null}
      </div>
    );
  }
  return (
    <div className="min-w-0 text-xs">
      {apiKey.api ? (
        <Link to={`/apis/${apiKey.api.id}`} className={cn(linkClass, "block truncate font-medium text-foreground")} title={`API: ${apiKey.api.name}`}>
          {apiKey.api.name}
        </Link>
      ) : (
        <span className="text-muted-foreground">Issued</span>
      )}
      {apiKey.identity ? (
        <Link to={`/identities/${apiKey.identity.id}`} className={cn(linkClass, "block truncate font-mono text-muted-foreground")} title={`Identity: ${apiKey.identity.externalId}`}>
          {apiKey.identity.externalId}
        </Link>
      ) : null}
    </div>
  );
}

/** A root key's scopes, or an issued key's permissions. */
export function KeyAccess({ apiKey }: { apiKey: Pick<ApiKeyView, "kind" | "scopes" | "permissions"> }) {
  if (apiKey.kind === "issued") {
    if (apiKey.permissions.length === 0) return <span className="text-xs text-muted-foreground">No permissions</span>;
    return (
      <div className="flex max-w-[16rem] flex-wrap gap-1">
        {apiKey.permissions.map((permission) => (
          <Badge key={permission} variant="outline" className="px-1.5 font-mono font-medium">
            {permission}
          </Badge>
        ))}
      </div>
    );
  }
  return (
    <div className="flex gap-1">
      {apiKey.scopes.map((scope) => (
        <Badge key={scope} variant={scope === "admin" ? "warning" : "outline"} className="px-1.5 font-mono font-medium">
          {scope}
        </Badge>
      ))}
    </div>
  );
}

/** Pages that revalidate after a row action (the default) need no `onChange`; the keys page patches its loaded pages in place. */
export function KeysTable({ keys, isAdmin, now, onChange }: { keys: KeyRow[]; isAdmin: boolean; now: string; onChange?: (key: ApiKeyView) => void }) {
  return (
    <Table>
      <TableHeader>
        <TableRow className="hover:bg-transparent">
          <TableHead className="pl-4">Name</TableHead>
          <TableHead>Status</TableHead>
          <TableHead className="hidden lg:table-cell">Kind</TableHead>
          <TableHead className="hidden md:table-cell">Access</TableHead>
          {isAdmin ? <TableHead className="hidden lg:table-cell">Owner</TableHead> : null}
          <TableHead className="hidden sm:table-cell">Expires</TableHead>
          <TableHead className="hidden xl:table-cell">Last used</TableHead>
          <TableHead className="hidden lg:table-cell">Created</TableHead>
          <TableHead className="w-12 pr-3">
            <span className="sr-only">Actions</span>
          </TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {keys.map((key) => (
          <TableRow key={key.id} data-key-id={key.id} className={cn(key.status === "revoked" && "text-muted-foreground")}>
            <TableCell className="max-w-[11rem] pl-4 sm:max-w-[18rem]">
              <Link
                to={`/keys/${key.id}`}
                className={cn("block truncate rounded-sm font-medium hover:underline focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring", key.status !== "revoked" && "text-foreground")}
                title={key.name}
              >
                {key.name}
              </Link>
              <div className="flex min-w-0 items-center gap-1.5 text-xs text-muted-foreground">
                <code className="shrink-0 font-mono">
                  {key.start}…{key.last4}
                </code>
                {key.description ? (
                  <span className="truncate" title={key.description}>
                    · {key.description}
                  </span>
                ) : null}
              </div>
            </TableCell>
            <TableCell>
              <KeyStatusBadge status={key.status} />
            </TableCell>
            <TableCell className="hidden max-w-[12rem] lg:table-cell">
              <KeyKind apiKey={key} />
            </TableCell>
            <TableCell className="hidden md:table-cell">
              <KeyAccess apiKey={key} />
            </TableCell>
            {isAdmin ? (
              <TableCell className="hidden max-w-[10rem] lg:table-cell">
                <div className="truncate text-muted-foreground" title={key.ownerEmail ?? key.ownerId}>
                  {key.ownerEmail ?? key.ownerId}
                </div>
              </TableCell>
            ) : null}
            <TableCell className="hidden whitespace-nowrap sm:table-cell">
              <RelativeTime iso={key.expiresAt} now={now} fallback="Never" />
            </TableCell>
            <TableCell className="hidden whitespace-nowrap xl:table-cell">
              <RelativeTime iso={key.lastUsedAt} now={now} fallback="Never" />
            </TableCell>
            <TableCell className="hidden whitespace-nowrap lg:table-cell">
              <RelativeTime iso={key.createdAt} now={now} />
            </TableCell>
            <TableCell className="pr-3 text-right">
              <KeyActions apiKey={key} onChange={onChange} />
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

