import Ajv2020 from "ajv8/dist/2020";
import addFormats from "ajv-formats";
import type { ValidateFunction } from "ajv8";
import { openApiDocument } from "../../app/lib/openapi.server";

/**
 * Checks an HTTP answer against the OpenAPI document the server serves: the status is declared for
 * the operation (path template + method), the content type is declared, the body is valid against
 * its schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses), a problem's `code` is one the document
 * lists for that status, and the headers the document marks required are there (and match their
 * schemas when present). The document is built in-process, once: the one the route serves.
 *
 * Paths the document does not have: under /api/v1 they must still answer a problem+json that is a
 * valid `Problem` (a 404 for an unknown endpoint, a 400 for a key in its URL); elsewhere (pages,
 * /login) the document says nothing and nothing is checked. A documented path with a method it does
 * not take must answer 405 with `Allow` and a `Problem`, as every operation's 405 declares.
 */

interface HeaderObject {
  $ref?: string;
  required?: boolean;
  schema?: Record<string, unknown>;
}
interface ResponseObject {
  headers?: Record<string, HeaderObject>;
  content?: Record<string, { schema: Record<string, unknown> }>;
  "x-codes"?: string[];
}
interface OperationObject {
  operationId: string;
  responses: Record<string, ResponseObject>;
}
interface Document {
  paths: Record<string, Record<string, OperationObject>>;
  components: { schemas: Record<string, unknown>; headers: Record<string, HeaderObject> };
}

const DOCUMENT_ID = "https://keyward.invalid/openapi.json";

interface Loaded {
  document: Document;
  ajv: Ajv2020;
  routes: { template: string; pattern: RegExp; item: Record<string, OperationObject> }[];
  compiled: Map<unknown, ValidateFunction>;
}

let loaded: Loaded | undefined;

function load(): Loaded {
  if (loaded) return loaded;
  // A copy: ajv annotates nothing, but the document is shared with the app's own module.
  const document = structuredClone(openApiDocument()) as unknown as Document;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema({ $id: DOCUMENT_ID, components: { schemas: document.components.schemas } });
  const routes = Object.entries(document.paths).map(([template, item]) => ({
    template,
    pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{[^}]+\\?\}/g, "[^/]+")}$`),
    item,
  }));
  loaded = { document, ajv, routes, compiled: new Map() };
  return loaded;
}

function validatorFor(schema: Record<string, unknown>): ValidateFunction {
  const state = load();
  let validate = state.compiled.get(schema);
  if (!validate) {
    const ref = schema.$ref;
    validate = state.ajv.compile(typeof ref === "string" && ref.startsWith("#") ? { $ref: `${DOCUMENT_ID}${ref}` } : { $id: `inline-${state.compiled.size}`, ...rewriteRefs(schema) });
    state.compiled.set(schema, validate);
  }
  return validate;
}

/** Local `#/components/...` refs of an inline schema, pointed at the document. */
function rewriteRefs(value: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value).replaceAll('"$ref":"#/', `"$ref":"${DOCUMENT_ID}#/`)) as Record<string, unknown>;
}

const resolveHeader = (header: HeaderObject): HeaderObject =>
  header.$ref ? load().document.components.headers[header.$ref.split("/").pop()!]! : header;

export interface ObservedResponse {
  method: string;
  /** The path with its query string, as requested. */
  path: string;
  status: number;
  headers: Headers;
  text: string;
}

/** Throws an Error naming the operation, the status and what disagrees, if the answer breaks the document. */
export function assertMatchesDocument(observed: ObservedResponse): void {
  const problems = mismatches(observed);
  if (problems.length > 0) {
    throw new Error(`Response does not match the OpenAPI document: ${problems.label} answered ${observed.status}:\n  - ${problems.join("\n  - ")}\nBody: ${observed.text.slice(0, 600)}`);
  }
}

function mismatches(observed: ObservedResponse): string[] & { label?: string } {
  const { routes } = load();
  const method = observed.method.toLowerCase();
  // Remix matches a path with a trailing slash as the path without it (/api/v1/keys/ is /api/v1/keys).
  const pathname = new URL(observed.path, "http://x").pathname.replace(/(.)\/+$/, "$1");
  const route = routes.find((candidate) => candidate.pattern.test(pathname));
  const out: string[] & { label?: string } = [];

  if (!route) {
    out.label = `${observed.method} ${pathname} (no such path in the document)`;
    // tRPC (/api/trpc) and the dashboard's own event stream are not the REST API; pages are not either.
    if (!pathname.startsWith("/api/v1/")) return [];
    checkProblem(observed, out, null);
    return out;
  }
  const operation = route.item[method];
  if (!operation) {
    out.label = `${observed.method} ${route.template} (no such operation)`;
    // Any other method on a documented path: 405 + Allow, the response every operation of the path declares.
    const sibling = Object.values(route.item)[0]!;
    const declared = sibling.responses["405"];
    if (!declared) out.push(`the path's operations declare no 405, yet ${observed.method} is not one of them`);
    else if (observed.status !== 405) out.push(`a method the path does not take must be 405, not ${observed.status}`);
    else checkResponse(observed, declared, out, false);
    return out;
  }
  out.label = `${operation.operationId} (${observed.method} ${route.template})`;
  const declared = operation.responses[String(observed.status)] ?? operation.responses.default;
  if (!declared) {
    out.push(`status ${observed.status} is not declared (declared: ${Object.keys(operation.responses).join(", ")})`);
    return out;
  }
  checkResponse(observed, declared, out, method === "head");
  return out;
}

function checkResponse(observed: ObservedResponse, declared: ResponseObject, out: string[], head: boolean): void {
  for (const [name, header] of Object.entries(declared.headers ?? {})) {
    const resolved = resolveHeader(header);
    const value = observed.headers.get(name);
    if (value === null) {
      if (resolved.required) out.push(`required header ${name} is missing`);
      continue;
    }
    if (resolved.schema) {
      const validate = validatorFor(resolved.schema);
      if (!validate(value)) out.push(`header ${name}: ${JSON.stringify(value)} ${load().ajv.errorsText(validate.errors)}`);
    }
  }
  if (head || observed.status === 204) {
    if (observed.text !== "") out.push("a HEAD answer (or 204) has a body");
    return;
  }
  const content = declared.content;
  if (!content) {
    if (observed.text !== "") out.push("a body was sent where the document declares none");
    return;
  }
  const contentType = (observed.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const media = content[contentType];
  if (!media) {
    out.push(`content type ${JSON.stringify(contentType)} is not declared (declared: ${Object.keys(content).join(", ")})`);
    return;
  }
  let body: unknown = observed.text;
  if (/^application\/(?:[\w.+-]+\+)?json$/.test(contentType)) {
    try {
      body = JSON.parse(observed.text);
    } catch {
      out.push("the body is not JSON, though its content type says it is");
      return;
    }
  }
  const validate = validatorFor(media.schema);
  if (!validate(body)) out.push(`body: ${load().ajv.errorsText(validate.errors, { separator: "\n    " })}`);
  const code = typeof body === "object" && body !== null && "code" in body ? (body as { code: unknown }).code : undefined;
  if (contentType === "application/problem+json" && declared["x-codes"] && !declared["x-codes"].includes(String(code))) {
    out.push(`problem code ${JSON.stringify(code)} is not among those this status lists (x-codes: ${declared["x-codes"].join(", ")})`);
  }
}

/** An answer with no operation to hold it to: a valid Problem, with its request id. */
function checkProblem(observed: ObservedResponse, out: string[], _declared: null): void {
  if (!observed.headers.get("x-request-id")) out.push("X-Request-Id is missing");
  const contentType = (observed.headers.get("content-type") ?? "").split(";")[0]!.trim();
  if (observed.method.toUpperCase() === "HEAD") return;
  if (contentType !== "application/problem+json") {
    out.push(`an undocumented /api path must answer application/problem+json, not ${JSON.stringify(contentType)} (status ${observed.status})`);
    return;
  }
  const validate = validatorFor({ $ref: "#/components/schemas/Problem" });
  let body: unknown;
  try {
    body = JSON.parse(observed.text);
  } catch {
    out.push("the problem is not JSON");
    return;
  }
  if (!validate(body)) out.push(`body is not a Problem: ${load().ajv.errorsText(validate.errors)}`);
}

/** Ajv's errors for `value` against a schema of the document (a `$ref` into it, or an inline schema), or null when valid. */
export function schemaErrors(schema: Record<string, unknown>, value: unknown): string | null {
  const validate = validatorFor(schema);
  return validate(value) ? null : load().ajv.errorsText(validate.errors);
}
