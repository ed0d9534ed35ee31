import { json, type AppLoadContext, type ServerBuild } from "@remix-run/node";

/**
 * A dispatch table for the API's resource routes, built once from the server build's route
 * manifest: the same route modules' `loader`/`action`, reached without Remix's per-request work.
 *
 * Remix answers a resource route by matching the URL against the whole route tree, which
 * `@remix-run/router` flattens, scores and sorts on every call (twice per request: once in the
 * request handler, once in `queryRoute`), then copies the Fetch Request twice (to strip `?index`
 * and `?_data`) before calling the loader. Measured under load that was a quarter of the CPU of
 * `GET /api/health` (docs/performance.md). Here the tree is flattened and ranked once, each
 * route's pattern compiled once, and a request is matched by the same rules — the same scores,
 * the same tie-breaks, the same regular expressions as `matchRoutes` — so it reaches the route
 * Remix would pick, with the same params (tests/http/resource-routes.test.ts compares the two).
 *
 * Only a request Remix would send straight to a resource route's loader or action is dispatched
 * here; anything else (pages, `?_data` and `?index` requests, methods Remix refuses itself, a
 * route without the export the method needs) goes to Remix as before.
 */

type ServerRoute = ServerBuild["routes"][string];

interface CompiledSegment {
  matcher: RegExp;
  params: { name: string; optional: boolean }[];
}

interface Branch {
  score: number;
  /** Each level's position among its siblings, for Remix's tie-break between sibling routes. */
  indexes: number[];
  levels: CompiledSegment[];
  route: ServerRoute;
}

export interface ResourceRouteMatch {
  route: ServerRoute;
  params: Record<string, string | undefined>;
}

/** The methods Remix hands to a resource route; anything else it refuses before any loader runs. */
const DISPATCHED_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]);

// Scores as @remix-run/router's computeScore.
const PARAM = /^:[\w-]+$/;
const DYNAMIC_SEGMENT = 3;
const INDEX_ROUTE = 2;
const EMPTY_SEGMENT = 1;
const STATIC_SEGMENT = 10;
const SPLAT_PENALTY = -2;

function score(path: string, index: boolean | undefined): number {
  const segments = path.split("/");
  let total = segments.length;
  if (segments.includes("*")) total += SPLAT_PENALTY;
  if (index) total += INDEX_ROUTE;
  for (const segment of segments) {
    if (segment === "*") continue;
    total += PARAM.test(segment) ? DYNAMIC_SEGMENT : segment === "" ? EMPTY_SEGMENT : STATIC_SEGMENT;
  }
  return total;
}

const joinPaths = (paths: string[]) => paths.join("/").replace(/\/\/+/g, "/");

/** The regular expression @remix-run/router's compilePath makes for a route's relative path. */
function compile(path: string, caseSensitive: boolean, end: boolean): CompiledSegment {
  const params: CompiledSegment["params"] = [];
  let source =
    "^" +
    path
      .replace(/\/*\*?$/, "")
      .replace(/^\/*/, "/")
      .replace(/[\\.*+^${}|()[\]]/g, "\\$&")
      .replace(/\/:([\w-]+)(\?)?/g, (_, name: string, optional?: string) => {
        params.push({ name, optional: optional != null });
        return optional ? "/?([^\\/]+)?" : "/([^\\/]+)";
      });
  if (path.endsWith("*")) {
    params.push({ name: "*", optional: false });
    source += path === "*" || path === "/*" ? "(.*)$" : "(?:\\/(.+)|\\/*)$";
  } else if (end) {
    source += "\\/*$";
  } else if (path !== "" && path !== "/") {
    source += "(?:(?=\\/|$))";
  }
  return { matcher: new RegExp(source, caseSensitive ? undefined : "i"), params };
}

/** Each URL segment decoded, an encoded slash kept encoded (@remix-run/router's decodePath). */
function decodePath(value: string): string {
  try {
    return value
      .split("/")
      .map((segment) => decodeURIComponent(segment).replace(/\//g, "%2F"))
      .join("/");
  } catch {
    return value;
  }
}

/** Compares two branches' sibling positions: only siblings are ordered, anything else ties. */
function compareIndexes(a: number[], b: number[]): number {
  const siblings = a.length === b.length && a.slice(0, -1).every((n, i) => n === b[i]);
  return siblings ? a[a.length - 1]! - b[b.length - 1]! : 0;
}

/**
 * The route tree's branches, flattened and ranked as Remix ranks them; null when the tree uses
 * something this table does not reproduce (optional segments), in which case Remix decides everything.
 */
function rankedBranches(manifest: ServerBuild["routes"]): Branch[] | null {
  const children = new Map<string, ServerRoute[]>();
  for (const route of Object.values(manifest)) {
    const parent = route.parentId ?? "";
    children.set(parent, [...(children.get(parent) ?? []), route]);
  }
  if (Object.values(manifest).some((route) => route.path?.includes("?"))) return null;

  const branches: Branch[] = [];
  const walk = (parentId: string, parentPath: string, parents: { relativePath: string; caseSensitive: boolean; index: number }[]) => {
    (children.get(parentId) ?? []).forEach((route, index) => {
      let relativePath = route.path ?? "";
      if (relativePath.startsWith("/")) relativePath = relativePath.slice(parentPath.length);
      const path = joinPaths([parentPath, relativePath]);
      const metas = [...parents, { relativePath, caseSensitive: route.caseSensitive === true, index }];
      walk(route.id, path, metas);
      if (route.path == null && !route.index) return;
      branches.push({
        score: score(path, route.index),
        indexes: metas.map((meta) => meta.index),
        levels: metas.map((meta, level) => compile(meta.relativePath, meta.caseSensitive, level === metas.length - 1)),
        route,
      });
    });
  };
  walk("", "", []);
  // Array.prototype.sort is stable, as the router's own sort relies on.
  return branches.sort((a, b) => (a.score !== b.score ? b.score - a.score : compareIndexes(a.indexes, b.indexes)));
}

/** @remix-run/router's matchRouteBranch, on precompiled levels: the leaf route and the params of every level. */
function matchBranch(branch: Branch, pathname: string): ResourceRouteMatch | null {
  const params: Record<string, string | undefined> = {};
  let matchedPathname = "/";
  for (const level of branch.levels) {
    const remaining = matchedPathname === "/" ? pathname : pathname.slice(matchedPathname.length) || "/";
    const match = level.matcher.exec(remaining);
    if (!match) return null;
    const matched = match[0];
    let base = matched.replace(/(.)\/+$/, "$1");
    level.params.forEach((param, i) => {
      const value = match[i + 1];
      if (param.name === "*") base = matched.slice(0, matched.length - (value ?? "").length).replace(/(.)\/+$/, "$1");
      params[param.name] = param.optional && !value ? undefined : (value ?? "").replace(/%2F/g, "/");
    });
    if (base !== "/") matchedPathname = joinPaths([matchedPathname, base]);
  }
  return { route: branch.route, params };
}

export interface ResourceRouteTable {
  /** The route Remix would pick for this pathname (leaf), with its params; null when none matches. */
  match(pathname: string): ResourceRouteMatch | null;
  /**
   * The answer of the resource route Remix would call for this request, or null when Remix must
   * answer it itself (not a resource route, a method or query it treats specially). The Fetch
   * Request is made only if the route reads it: `GET /api/health` never needs one.
   */
  dispatch(method: string, url: URL, request: () => Request, context: AppLoadContext): Promise<Response> | null;
}

export function createResourceRouteTable(build: ServerBuild): ResourceRouteTable | null {
  const branches = rankedBranches(build.routes);
  if (!branches) return null;
  const handleError = build.entry.module.handleError;

  const match = (pathname: string): ResourceRouteMatch | null => {
    const decoded = decodePath(pathname);
    for (const branch of branches) {
      const found = matchBranch(branch, decoded);
      if (found) return found;
    }
    return null;
  };

  return {
    match,
    dispatch(method, url, request, context) {
      if (!DISPATCHED_METHODS.has(method)) return null;
      // Remix strips these from what the route sees, or treats the request as a data request.
      if (url.search && (url.searchParams.has("_data") || url.searchParams.has("index"))) return null;
      const found = match(url.pathname);
      if (!found) return null;
      const { module } = found.route;
      if (module.default != null || module.ErrorBoundary != null) return null;
      const handler = method === "GET" || method === "HEAD" ? module.loader : module.action;
      if (!handler) return null;
      return callResourceRoute(handler, found, method, request, context, handleError);
    },
  };
}

type RouteHandler = NonNullable<ServerRoute["module"]["loader"]>;

/** What Remix's handleResourceRequest does with a loader's or action's outcome, for a production build. */
async function callResourceRoute(
  handler: RouteHandler,
  { route, params }: ResourceRouteMatch,
  method: string,
  request: () => Request,
  context: AppLoadContext,
  handleError: ServerBuild["entry"]["module"]["handleError"],
): Promise<Response> {
  let response: Response;
  try {
    const args = {
      get request() {
        return request();
      },
      params,
      context,
    };
    const result: unknown = await handler(args);
    if (result === undefined) {
      const kind = method === "GET" || method === "HEAD" ? "loader" : "action";
      throw new Error(`You defined a ${kind} for route "${route.id}" but didn't return anything from your \`${kind}\` function. Please return a value or \`null\`.`);
    }
    response = result instanceof Response ? result : json(result);
  } catch (thrown) {
    if (thrown instanceof Response) {
      response = thrown;
      safelySetHeader(response, "X-Remix-Catch", "yes");
    } else {
      if (handleError) handleError(thrown, { request: request(), params, context });
      else if (!request().signal.aborted) console.error(thrown);
      response = new Response("Unexpected Server Error", { status: 500, headers: { "Content-Type": "text/plain" } });
    }
  }
  if (method === "HEAD") return new Response(null, { headers: response.headers, status: response.status, statusText: response.statusText });
  return response;
}

/** A thrown Response's headers may be immutable (a fetched one): Remix then leaves them as they are. */
function safelySetHeader(response: Response, name: string, value: string): void {
  try {
    response.headers.set(name, value);
  } catch {
    // Immutable headers.
  }
}
