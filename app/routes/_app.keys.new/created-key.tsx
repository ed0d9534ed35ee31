import { Link } from "@remix-run/react";
import { CircleCheck, TriangleAlert } from "lucide-react";
import { CopyButton } from "~/components/copy-button";
import { formatRelative } from "~/components/relative-time";
import { Alert, AlertDescription, AlertTitle } from "~/components/ui/alert";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "~/components/ui/card";
import { Label } from "~/components/ui/label";

/** The new key, shown once, with a command to try it. */
export function CreatedKey({ created, origin, now }: { created: { key: string; apiKey: { name: string; scopes: string[]; expiresAt: string | null; recoverable: boolean } }; origin: string; now: string }) {
  const { key, apiKey } = created;
  const curl = `curl -H "Authorization: Bearer ${key}" \\\n  ${origin}/api/trpc/me`;
  return (
    <Card className="mx-auto max-w-4xl">
      <CardHeader>
        <div className="flex items-center gap-3">
          <span className="flex h-9 w-9 items-center justify-center rounded-full bg-success/10">
            <CircleCheck className="h-5 w-5 text-success" aria-hidden />
          </span>
          <div className="space-y-1">
            <CardTitle className="text-xl">API key created</CardTitle>
            <CardDescription>
              “{apiKey.name}” is ready to use. {apiKey.expiresAt ? `It expires ${formatRelative(new Date(apiKey.expiresAt), new Date(now))}.` : "It does not expire."}
            </CardDescription>
          </div>
        </div>
      </CardHeader>
      <CardContent className="space-y-6">
        <Alert variant="warning">
          <TriangleAlert className="h-4 w-4" aria-hidden />
          <AlertTitle>Copy this key now. It will not be shown again.</AlertTitle>
          <AlertDescription className="text-muted-foreground">
            Keyward stores only a one-way digest of it{apiKey.recoverable ? " (and an encrypted copy only an admin can reveal, audited)" : ""}. If you lose it, revoke it and create a new one.
          </AlertDescription>
        </Alert>

        <div className="space-y-2">
          <Label htmlFor="new-key">Your API key</Label>
          <div className="flex flex-col gap-2 sm:flex-row sm:items-start">
            <output id="new-key" data-testid="new-key" className="block min-w-0 flex-1 select-all break-all rounded-md border bg-muted px-3 py-2 font-mono text-sm leading-relaxed">
              {key}
            </output>
            <CopyButton value={key} label="Copy key" size="default" className="shrink-0" />
          </div>
          <div className="flex flex-wrap items-center gap-1.5 pt-1 text-xs text-muted-foreground">
            Scopes:
            {apiKey.scopes.map((scope) => (
              <Badge key={scope} variant={scope === "admin" ? "warning" : "outline"} className="font-mono font-medium">
                {scope}
              </Badge>
            ))}
          </div>
        </div>

        <div className="space-y-2">
          <div className="flex items-center justify-between gap-2">
            <Label htmlFor="curl-example">Try it</Label>
            <CopyButton value={curl} label="Copy command" variant="ghost" />
          </div>
          <pre id="curl-example" className="whitespace-pre-wrap break-all rounded-md border bg-zinc-950 p-4 font-mono text-xs leading-relaxed text-zinc-50 dark:bg-zinc-900">
            <code>{curl}</code>
          </pre>
        </div>
      </CardContent>
      <CardFooter className="flex flex-col-reverse gap-2 border-t pt-6 sm:flex-row sm:justify-end">
        <Button asChild variant="outline">
          <Link to="/keys/new" replace>
            Create another key
          </Link>
        </Button>
        <Button asChild>
          <Link to="/keys">Done</Link>
        </Button>
      </CardFooter>
    </Card>
  );
}
