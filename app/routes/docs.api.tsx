import { json, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { Fragment } from "react";
import { openApiDocument } from "~/lib/openapi.server";
import { cn } from "~/lib/utils";

/** The REST API reference for people, rendered from the same OpenAPI document the API serves. Public, like the document. */
export const loader = () => json(openApiDocument() as unknown as ApiDocument, { headers: { "Cache-Control": "public, max-age=300" } });

export const meta: MetaFunction = () => [{ title: "API reference · Keyward" }];

interface Schema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  description?: string;
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  title?: string;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema | boolean;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
}

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema: Schema;
}

interface Content {
  [contentType: string]: { schema: Schema };
}

interface OperationObject {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  "x-keyward-scope"?: string;
  parameters?: (Parameter | { $ref: string })[];
  requestBody?: { required?: boolean; content: Content };
  responses: Record<string, { description: string; content?: Content; "x-codes"?: string[] }>;
}

interface ApiDocument {
  info: { title: string; version: string; description: string };
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, OperationObject>>;
  components: { schemas: Record<string, Schema>; parameters?: Record<string, Parameter> };
  "x-error-codes": { code: string; status: number; title: string; description: string }[];
}

const METHOD_STYLES: Record<string, string> = {
  get: "bg-sky-500/10 text-sky-700 dark:text-sky-300 border-sky-500/30",
  post: "bg-emerald-500/10 text-emerald-700 dark:text-emerald-300 border-emerald-500/30",
  patch: "bg-amber-500/10 text-amber-700 dark:text-amber-300 border-amber-500/30",
  delete: "bg-rose-500/10 text-rose-700 dark:text-rose-300 border-rose-500/30",
};

const refName = (ref: string) => ref.split("/").pop()!;

/** Descriptions use `backticks` for code, as in Markdown; nothing else of Markdown is needed. */
function Prose({ text }: { text: string }) {
  return (
    <>
      {text.split("`").map((part, index) =>
        index % 2 === 1 ? (
          <code key={index} className="rounded bg-muted px-1 py-0.5 font-mono text-[0.85em] text-foreground">
            {part}
          </code>
        ) : (
          <Fragment key={index}>{part}</Fragment>
        ),
      )}
    </>
  );
}

function typeLabel(schema: Schema): string {
  if (schema.$ref) return refName(schema.$ref);
  if (schema.anyOf) return schema.anyOf.map(typeLabel).join(" | ");
  if (schema.oneOf) return schema.oneOf.map((option) => option.title ?? typeLabel(option)).join(" | ");
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(" | ");
  if (schema.type === "array") return `${schema.items ? typeLabel(schema.items) : "any"}[]`;
  if (schema.type === "object" && !schema.properties) return "object";
  const type = Array.isArray(schema.type) ? schema.type.join(" | ") : (schema.type ?? "any");
  return schema.format ? `${type} (${schema.format})` : type;
}

function constraints(schema: Schema): string[] {
  const out: string[] = [];
  const target = schema.anyOf?.find((option) => option.type !== "null") ?? schema;
  if (target.minLength !== undefined || target.maxLength !== undefined) out.push(`length ${target.minLength ?? 0}–${target.maxLength ?? "∞"}`);
  if (target.minimum !== undefined || target.maximum !== undefined) out.push(`${target.minimum ?? "−∞"}–${target.maximum ?? "∞"}`);
  if (target.minItems !== undefined || target.maxItems !== undefined) out.push(`${target.minItems ?? 0}–${target.maxItems ?? "∞"} items`);
  if (target.pattern) out.push(`pattern ${target.pattern}`);
  if (schema.default !== undefined) out.push(`default ${JSON.stringify(schema.default)}`);
  return out;
}

/** The object schema a property expands into, if it is an inline object (refs link instead). */
function inlineObject(schema: Schema): Schema | null {
  const candidate = schema.anyOf?.find((option) => option.type !== "null") ?? (schema.type === "array" ? schema.items : schema);
  return candidate && !candidate.$ref && candidate.properties ? candidate : null;
}

function TypeText({ schema }: { schema: Schema }) {
  const ref = schema.$ref ?? (schema.type === "array" ? schema.items?.$ref : undefined) ?? schema.anyOf?.find((option) => option.$ref)?.$ref;
  const label = typeLabel(schema);
  if (!ref) return <span className="font-mono text-xs text-muted-foreground">{label}</span>;
  return (
    <a href={`#schema-${refName(ref)}`} className="font-mono text-xs text-primary underline decoration-dotted underline-offset-2">
      {label}
    </a>
  );
}

function PropertiesTable({ schema, depth = 0 }: { schema: Schema; depth?: number }) {
  const properties = Object.entries(schema.properties ?? {});
  if (properties.length === 0) return <p className="text-sm text-muted-foreground">{typeLabel(schema)}</p>;
  return (
    <div className={cn("overflow-x-auto rounded-md border", depth > 0 && "mt-2")}>
      <table className="w-full text-left text-sm">
        <thead className="bg-muted/50 text-xs uppercase tracking-wide text-muted-foreground">
          <tr>
            <th className="px-3 py-2 font-medium">Field</th>
            <th className="px-3 py-2 font-medium">Type</th>
            <th className="px-3 py-2 font-medium">Description</th>
          </tr>
        </thead>
        <tbody className="divide-y">
          {properties.map(([name, property]) => {
            const nested = depth < 2 ? inlineObject(property) : null;
            const rules = constraints(property);
            return (
              <tr key={name} className="align-top">
                <td className="whitespace-nowrap px-3 py-2 font-mono text-xs">
                  {name}
                  {schema.required?.includes(name) ? <span className="ml-1 text-destructive" title="required">*</span> : null}
                </td>
                <td className="px-3 py-2">
                  <TypeText schema={property} />
                </td>
                <td className="px-3 py-2 text-muted-foreground">
                  {property.description ? (
                    <p className="text-foreground/90">
                      <Prose text={property.description} />
                    </p>
                  ) : null}
                  {rules.length > 0 ? <p className="mt-0.5 break-all font-mono text-xs">{rules.join(" · ")}</p> : null}
                  {nested ? <PropertiesTable schema={nested} depth={depth + 1} /> : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** A request body, shown in full where it is used (a `$ref` is looked up in the components). */
function SchemaBlock({ schema, components }: { schema: Schema; components: Record<string, Schema> }) {
  const resolved = schema.$ref ? components[refName(schema.$ref)] : schema;
  if (!resolved) return <TypeText schema={schema} />;
  return (
    <>
      {schema.$ref ? (
        <p className="mb-2 text-xs text-muted-foreground">
          <TypeText schema={schema} />
          {resolved.additionalProperties === false ? " · unknown fields are refused (422)" : null}
        </p>
      ) : null}
      <PropertiesTable schema={resolved} />
    </>
  );
}

function Operation({ method, path, operation, components }: { method: string; path: string; operation: OperationObject; components: Record<string, Schema> }) {
  const success = Object.entries(operation.responses).filter(([status]) => Number(status) < 400);
  const errors = Object.entries(operation.responses).filter(([status]) => Number(status) >= 400);
  const body = operation.requestBody?.content["application/json"]?.schema;
  return (
    <section id={operation.operationId} className="scroll-mt-6 rounded-lg border bg-card p-5 shadow-sm">
      <div className="flex flex-wrap items-center gap-3">
        <span className={cn("rounded-md border px-2 py-0.5 font-mono text-xs font-bold uppercase", METHOD_STYLES[method])}>{method}</span>
        <code className="font-mono text-sm font-semibold">{path}</code>
        <span className="ml-auto rounded-md border px-2 py-0.5 text-xs text-muted-foreground">
          {operation["x-keyward-scope"] ? `scope: ${operation["x-keyward-scope"]}` : "public"}
        </span>
      </div>
      <h3 className="mt-3 text-base font-semibold">{operation.summary}</h3>
      {operation.description ? (
        <div className="mt-1 space-y-2 text-sm text-muted-foreground">
          {operation.description.split("\n\n").map((paragraph) => (
            <p key={paragraph}>
              <Prose text={paragraph} />
            </p>
          ))}
        </div>
      ) : null}

      {operation.parameters?.length ? (
        <div className="mt-4">
          <h4 className="mb-2 text-sm font-semibold">Parameters</h4>
          <div className="overflow-x-auto rounded-md border">
            <table className="w-full text-left text-sm">
              <tbody className="divide-y">
                {/* Resolved from `$ref`s by the page (below) before they reach here. */}
                {(operation.parameters as Parameter[]).map((parameter) => (
                  <tr key={`${parameter.in}-${parameter.name}`} className="align-top">
                    <td className="whitespace-nowrap px-3 py-2 font-mono text-xs">
                      {parameter.name}
                      {parameter.required ? <span className="ml-1 text-destructive">*</span> : null}
                    </td>
                    <td className="px-3 py-2 text-xs text-muted-foreground">{parameter.in}</td>
                    <td className="px-3 py-2">
                      <TypeText schema={parameter.schema} />
                    </td>
                    <td className="px-3 py-2 text-muted-foreground">
                      {parameter.description ? <Prose text={parameter.description} /> : null}
                      {constraints(parameter.schema).length > 0 ? <p className="font-mono text-xs">{constraints(parameter.schema).join(" · ")}</p> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      ) : null}

      {body ? (
        <div className="mt-4">
          <h4 className="mb-2 text-sm font-semibold">
            Request body <span className="font-normal text-muted-foreground">application/json{operation.requestBody?.required ? "" : ", optional"}</span>
          </h4>
          <SchemaBlock schema={body} components={components} />
        </div>
      ) : null}

      <div className="mt-4">
        <h4 className="mb-2 text-sm font-semibold">Responses</h4>
        <ul className="space-y-2 text-sm">
          {success.map(([status, response]) => {
            const schema = response.content?.["application/json"]?.schema;
            return (
              <li key={status}>
                <span className="mr-2 rounded bg-emerald-500/10 px-1.5 py-0.5 font-mono text-xs text-emerald-700 dark:text-emerald-300">{status}</span>
                <Prose text={response.description} />
                {schema?.$ref ? (
                  <>
                    {" "}
                    → <TypeText schema={schema} />
                  </>
                ) : null}
              </li>
            );
          })}
          {errors.map(([status, response]) => (
            <li key={status}>
              <span className="mr-2 rounded bg-rose-500/10 px-1.5 py-0.5 font-mono text-xs text-rose-700 dark:text-rose-300">{status}</span>
              {(response["x-codes"] ?? []).map((code, index) => (
                <Fragment key={code}>
                  {index > 0 ? ", " : null}
                  <a href={`#error-${code}`} className="font-mono text-xs underline decoration-dotted underline-offset-2">
                    {code}
                  </a>
                </Fragment>
              ))}
            </li>
          ))}
        </ul>
      </div>
    </section>
  );
}

export default function ApiReference() {
  const document = useLoaderData<typeof loader>() as unknown as ApiDocument;
  // Shared parameters (`Idempotency-Key`) are `$ref`s into components.parameters: shown resolved.
  const resolve = (parameter: Parameter | { $ref: string }): Parameter =>
    "$ref" in parameter ? document.components.parameters![parameter.$ref.slice("#/components/parameters/".length)]! : parameter;
  const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation: { ...operation, parameters: operation.parameters?.map(resolve) } })),
  );
  return (
    <div className="min-h-screen bg-background text-foreground">
      <header className="border-b">
        <div className="mx-auto flex max-w-6xl items-center justify-between px-6 py-4">
          <Link to="/" className="text-sm font-semibold">
            Keyward
          </Link>
          <a href="/api/v1/openapi.json" className="text-sm text-muted-foreground underline-offset-4 hover:text-foreground hover:underline">
            openapi.json
          </a>
        </div>
      </header>
      <div className="mx-auto grid max-w-6xl gap-10 px-6 py-10 lg:grid-cols-[14rem_1fr]">
        <nav aria-label="API reference" className="hidden lg:block">
          <div className="sticky top-6 space-y-6 text-sm">
            {document.tags.map((tag) => (
              <div key={tag.name}>
                <p className="mb-2 font-semibold">{tag.name}</p>
                <ul className="space-y-1">
                  {operations
                    .filter(({ operation }) => operation.tags.includes(tag.name))
                    .map(({ method, operation }) => (
                      <li key={operation.operationId}>
                        <a href={`#${operation.operationId}`} className="flex items-center gap-2 text-muted-foreground hover:text-foreground">
                          <span className="w-12 font-mono text-[10px] font-bold uppercase">{method}</span>
                          {operation.summary}
                        </a>
                      </li>
                    ))}
                </ul>
              </div>
            ))}
            <div>
              <p className="mb-2 font-semibold">Reference</p>
              <ul className="space-y-1 text-muted-foreground">
                <li>
                  <a href="#errors" className="hover:text-foreground">
                    Error codes
                  </a>
                </li>
                <li>
                  <a href="#schemas" className="hover:text-foreground">
                    Schemas
                  </a>
                </li>
              </ul>
            </div>
          </div>
        </nav>

        <main className="min-w-0 space-y-12">
          <section>
            <p className="text-sm text-muted-foreground">Version {document.info.version}</p>
            <h1 className="mt-1 text-3xl font-bold tracking-tight">{document.info.title}</h1>
            <p className="mt-3 max-w-3xl text-muted-foreground">
              <Prose text={document.info.description} />
            </p>
            <div className="mt-6 rounded-lg border bg-muted/40 p-4">
              <p className="mb-2 text-sm font-semibold">Authenticate every request</p>
              <pre className="overflow-x-auto font-mono text-xs leading-relaxed">
                {`curl -H "Authorization: Bearer $KEYWARD_KEY" https://<your-keyward>/api/v1/me`}
              </pre>
            </div>
          </section>

          <section id="idempotency" className="scroll-mt-6 max-w-3xl space-y-3 text-sm text-muted-foreground">
            <h2 className="text-xl font-semibold text-foreground">Safe retries: Idempotency-Key</h2>
            <p>
              Creating a key, API or identity, rotating a key, revoking or disabling an identity&apos;s keys and acknowledging or resolving an alert accept an{" "}
              <code className="font-mono text-xs">Idempotency-Key</code> header (1–255 printable ASCII characters; a random UUID per logical request). If the answer is lost, send the same
              request again with the same key: within 24 hours you get the first answer back (the same key id and plaintext, status included), marked{" "}
              <code className="font-mono text-xs">Idempotent-Replayed: true</code>, and nothing is created twice. Keys belong to the user behind the calling key.
            </p>
            <p>
              The same key with a different method, path or body is refused with 422 <a href="#error-idempotency_key_reused" className="underline">idempotency_key_reused</a>; while the first
              request is still running, 409 <a href="#error-idempotency_key_in_use" className="underline">idempotency_key_in_use</a> (retry shortly). 2xx and 4xx answers are kept; a 5xx is not,
              so retrying after one runs the request again. The SDK sends a key with every create and rotate and retries them.
            </p>
            <pre className="overflow-x-auto rounded-lg border bg-muted/40 p-4 font-mono text-xs leading-relaxed">
              {`curl -X POST -H "Authorization: Bearer $KEYWARD_KEY" -H "Idempotency-Key: $(uuidgen)" \\
  -H "Content-Type: application/json" -d '{"name":"billing","scopes":["read"]}' https://<your-keyward>/api/v1/keys`}
            </pre>
            <h2 className="pt-3 text-xl font-semibold text-foreground">Pages</h2>
            <p>
              Lists answer <code className="font-mono text-xs">{"{ data, nextCursor, hasMore }"}</code>, newest first. <code className="font-mono text-xs">hasMore</code> is true exactly when{" "}
              <code className="font-mono text-xs">nextCursor</code> is not null: pass it as <code className="font-mono text-xs">cursor</code> for the next page. Cursors go forward only; to start
              again, omit the cursor.
            </p>
          </section>

          {document.tags.map((tag) => (
            <section key={tag.name} className="space-y-4">
              <div>
                <h2 className="text-xl font-semibold">{tag.name}</h2>
                <p className="text-sm text-muted-foreground">{tag.description}</p>
              </div>
              {operations
                .filter(({ operation }) => operation.tags.includes(tag.name))
                .map(({ path, method, operation }) => (
                  <Operation key={operation.operationId} path={path} method={method} operation={operation} components={document.components.schemas} />
                ))}
            </section>
          ))}

          <section id="errors" className="scroll-mt-6 space-y-4">
            <div>
              <h2 className="text-xl font-semibold">Error codes</h2>
              <p className="text-sm text-muted-foreground">
                Every error is <code className="font-mono text-xs">application/problem+json</code> (RFC 9457):{" "}
                <code className="font-mono text-xs">{"{ type, title, status, detail, code, requestId }"}</code>. Branch on <code className="font-mono text-xs">code</code>; it never changes.
              </p>
            </div>
            <div className="overflow-x-auto rounded-md border">
              <table className="w-full text-left text-sm">
                <thead className="bg-muted/50 text-xs uppercase tracking-wide text-muted-foreground">
                  <tr>
                    <th className="px-3 py-2 font-medium">Code</th>
                    <th className="px-3 py-2 font-medium">Status</th>
                    <th className="px-3 py-2 font-medium">Meaning</th>
                  </tr>
                </thead>
                <tbody className="divide-y">
                  {document["x-error-codes"].map((error) => (
                    <tr key={error.code} id={`error-${error.code}`} className="scroll-mt-6 align-top target:bg-amber-500/10">
                      <td className="whitespace-nowrap px-3 py-2 font-mono text-xs">{error.code}</td>
                      <td className="px-3 py-2 font-mono text-xs">{error.status}</td>
                      <td className="px-3 py-2">
                        <span className="font-medium">{error.title}.</span>{" "}
                        <span className="text-muted-foreground">
                          <Prose text={error.description} />
                        </span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>

          <section id="schemas" className="scroll-mt-6 space-y-6">
            <h2 className="text-xl font-semibold">Schemas</h2>
            {Object.entries(document.components.schemas).map(([name, schema]) => (
              <div key={name} id={`schema-${name}`} className="scroll-mt-6">
                <h3 className="font-mono text-sm font-semibold">{name}</h3>
                {schema.description ? (
                  <p className="mb-2 text-sm text-muted-foreground">
                    <Prose text={schema.description} />
                  </p>
                ) : null}
                <PropertiesTable schema={schema} />
              </div>
            ))}
          </section>
        </main>
      </div>
    </div>
  );
}
