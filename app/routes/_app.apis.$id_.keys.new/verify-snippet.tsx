import { CopyButton } from "~/components/copy-button";

/** What the user's service sends to verify a key: the new key goes in the body, never a URL. */
export function verifyBody(key: string, apiId: string, permissions: string[]) {
  return { key, apiId, ...(permissions.length > 0 && { permissions }) };
}

/**
 * A curl command and the SDK call that verify the new key from the user's own service. The root
 * key is named by an environment variable, never shown: the page does not have it.
 */
export function VerifySnippet({ origin, created }: { origin: string; created: { key: string; apiId: string; permissions: string[] } }) {
  const body = verifyBody(created.key, created.apiId, created.permissions);
  const curl = [`curl -X POST ${origin}/api/v1/verify \\`, `  -H "Authorization: Bearer $KEYWARD_ROOT_KEY" \\`, `  -H "Content-Type: application/json" \\`, `  -d '${JSON.stringify(body)}'`].join("\n");
  const sdk = [
    `import { createKeyward } from "@keyward/sdk";`,
    ``,
    `const keyward = createKeyward({ baseUrl: "${origin}", apiKey: process.env.KEYWARD_ROOT_KEY! });`,
    ``,
    `// In your handler: the key your customer sent, e.g. in "Authorization: Bearer …".`,
    `const result = await keyward.verify({`,
    `  key,`,
    `  apiId: "${created.apiId}",`,
    ...(created.permissions.length > 0 ? [`  permissions: ${JSON.stringify(created.permissions)},`] : []),
    `});`,
    `if (!result.valid) return new Response(result.code, { status: 401 });`,
  ].join("\n");
  return (
    <div className="space-y-4">
      <div className="space-y-1">
        <h3 className="text-sm font-semibold">Verify it from your service</h3>
        <p className="text-sm text-muted-foreground">
          Call Keyward with a root key (from <code className="font-mono text-foreground">$KEYWARD_ROOT_KEY</code>, never this key) on every request your service gets. The answer says whether the key is valid for this API and these permissions, and whose it is.
        </p>
      </div>
      <Snippet id="verify-curl" label="curl" text={curl} />
      <Snippet id="verify-sdk" label="TypeScript, with the SDK" text={sdk} />
    </div>
  );
}

function Snippet({ id, label, text }: { id: string; label: string; text: string }) {
  return (
    <div className="space-y-2">
      <div className="flex items-center justify-between gap-2">
        <p id={`${id}-label`} className="text-sm font-medium">
          {label}
        </p>
        <CopyButton value={text} label={`Copy ${label.split(",")[0]}`} variant="ghost" />
      </div>
      <pre id={id} tabIndex={0} aria-labelledby={`${id}-label`} className="overflow-x-auto whitespace-pre-wrap break-all rounded-md border bg-zinc-950 p-4 font-mono text-xs leading-relaxed text-zinc-50 focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring dark:bg-zinc-900">
        <code>{text}</code>
      </pre>
    </div>
  );
}
