import { apiIdSchema, userIdSchema } from "../../app/lib/key-schemas";
import type { ApiView } from "../../app/services/apis.server";
import type { UserView } from "../../app/services/users.server";
import { CliError, UsageError } from "./cli";

/**
 * Remote mode: the CLI talks to a running Keyward through its REST API (`/api/v1/…`, the root key
 * as a Bearer token) instead of opening the database. Chosen by `--url`/`--api-key` or
 * KEYWARD_URL/KEYWARD_API_KEY; the server then does the checks, the audit (as the key's owner,
 * through that key) and the events, exactly as for any other client.
 */
export interface RemoteTarget {
  url: string;
  apiKey: string;
}

let target: RemoteTarget | null = null;

/** The server the commands talk to, or null for local mode (the database itself). */
export function remoteTarget(): RemoteTarget | null {
  return target;
}

/** Sets remote mode from flags and the environment; one of URL and key without the other is a usage error. */
export function configureRemote(flags: { url?: string; apiKey?: string }, env: NodeJS.ProcessEnv = process.env): RemoteTarget | null {
  const url = flags.url ?? (env.KEYWARD_URL || undefined);
  const apiKey = flags.apiKey ?? (env.KEYWARD_API_KEY || undefined);
  if (url === undefined && apiKey === undefined) return (target = null);
  if (url === undefined) throw new UsageError("remote mode needs the server's URL too: --url or KEYWARD_URL");
  if (apiKey === undefined) throw new UsageError("remote mode needs a root key too: --api-key or KEYWARD_API_KEY (preferred: a flag is visible in the process list)");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url/KEYWARD_URL must be an http(s) URL, got "${url}"`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new UsageError(`--url/KEYWARD_URL must be an http(s) URL, got "${url}"`);
  // The key goes in a header only: never a URL with credentials or a query.
  if (parsed.username || parsed.password || parsed.search) throw new UsageError("--url/KEYWARD_URL must not carry credentials or a query; give the key with --api-key or KEYWARD_API_KEY");
  return (target = { url: parsed.toString().replace(/\/+$/, ""), apiKey });
}

/** Demands remote mode's target (for helpers only called in remote mode). */
function requireTarget(): RemoteTarget {
  if (!target) throw new Error("not in remote mode");
  return target;
}

type Query = Record<string, string | number | boolean | Date | undefined | null>;

/** Sends one request; a problem answer becomes a CliError with its detail and code (exit 1). */
export async function send(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<Response> {
  const { url, apiKey } = requireTarget();
  const address = new URL(`${url}${path}`);
  for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined && value !== null) address.searchParams.set(name, value instanceof Date ? value.toISOString() : String(value));
  const headers: Record<string, string> = { Authorization: `Bearer ${apiKey}`, Accept: "application/json", "User-Agent": "keyward-cli" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(address, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  } catch (error) {
    const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    throw new CliError(`cannot reach Keyward at ${url}: ${cause}`);
  }
  if (!response.ok) throw await problemError(response);
  return response;
}

/** A JSON request's answer. */
export async function call<T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
  return (await (await send(method, path, options)).json()) as T;
}

/** A remote refusal: exit 1, printing the problem's `detail` and `code`. */
export class RemoteProblem extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(`${detail} (${code})`);
  }
}

async function problemError(response: Response): Promise<RemoteProblem> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { detail?: unknown; code?: unknown; errors?: { field: string; message: string }[] };
    if (typeof body.code === "string") {
      const fields = Array.isArray(body.errors) && body.errors.length > 0 ? `: ${body.errors.map((error) => `${error.field}: ${error.message}`).join("; ")}` : "";
      return new RemoteProblem(response.status, body.code, `${String(body.detail ?? "")}${fields}`);
    }
  } catch {
    // Not a problem document: said below.
  }
  return new RemoteProblem(response.status, `http_${response.status}`, `the server answered ${response.status} ${response.statusText}, not a Keyward problem document`);
}

/** Every page of a cursor-paginated list. */
export async function allPages<T>(path: string, query: Query = {}): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await call<{ data: T[]; nextCursor: string | null }>("GET", path, { query: { ...query, limit: 100, cursor } });
    items.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/** A user by id or email, through `GET /api/v1/users` (admin). */
export async function findRemoteUser(emailOrId: string): Promise<UserView> {
  if (userIdSchema.safeParse(emailOrId).success) return call<UserView>("GET", `/api/v1/users/${emailOrId}`);
  const { data } = await call<{ data: UserView[] }>("GET", "/api/v1/users");
  const wanted = emailOrId.trim().toLowerCase();
  const user = data.find((candidate) => candidate.email === wanted);
  if (!user) throw new RemoteProblem(404, "not_found", `User ${emailOrId} not found`);
  return user;
}

/** An API by id or prefix (archived ones included). */
export async function findRemoteApi(idOrPrefix: string): Promise<ApiView> {
  if (apiIdSchema.safeParse(idOrPrefix).success) return call<ApiView>("GET", `/api/v1/apis/${idOrPrefix}`);
  const apis = await allPages<ApiView>("/api/v1/apis", { includeArchived: true });
  const api = apis.find((candidate) => candidate.prefix === idOrPrefix);
  if (!api) throw new RemoteProblem(404, "not_found", `API ${idOrPrefix} not found`);
  return api;
}
