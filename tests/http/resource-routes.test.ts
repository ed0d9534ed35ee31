import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerBuild } from "@remix-run/node";
import { matchRoutes, type AgnosticRouteObject } from "@remix-run/router";
import fc from "fast-check";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { createResourceRouteTable, type ResourceRouteTable } from "../../app/server/resource-routes";

/**
 * The dispatch table must pick, for every path, the route Remix's own matcher picks, with the same
 * params: it replaces that matcher for the API's resource routes. Compared on the real build's
 * route tree, over every route's own path with assorted params, over paths that stress the rules
 * (case, trailing and doubled slashes, encodings, malformed escapes) and over generated ones.
 */

const BUILD = path.resolve("build/index.js");
let build: ServerBuild;
let table: ResourceRouteTable;
let tree: AgnosticRouteObject[];

/** The tree Remix's request handler matches against (server-runtime's createRoutes). */
function routeTree(manifest: ServerBuild["routes"], parentId = ""): AgnosticRouteObject[] {
  return Object.values(manifest)
    .filter((route) => (route.parentId ?? "") === parentId)
    .map((route) =>
      route.index
        ? { id: route.id, index: true, path: route.path, caseSensitive: route.caseSensitive }
        : { id: route.id, path: route.path, caseSensitive: route.caseSensitive, children: routeTree(manifest, route.id) },
    );
}

function remixMatch(pathname: string): { id: string; params: Record<string, string | undefined> } | null {
  const matches = matchRoutes(tree, pathname);
  if (!matches) return null;
  const leaf = matches[matches.length - 1]!;
  return { id: leaf.route.id!, params: { ...leaf.params } };
}

function ourMatch(pathname: string): { id: string; params: Record<string, string | undefined> } | null {
  const found = table.match(pathname);
  return found ? { id: found.route.id, params: { ...found.params } } : null;
}

beforeAll(async () => {
  if (!fs.existsSync(BUILD)) throw new Error("No Remix build: run `npm run build` (npm test does it first)");
  build = (await import(pathToFileURL(BUILD).href)) as ServerBuild;
  table = createResourceRouteTable(build)!;
  tree = routeTree(build.routes);
  // Remix's matcher warns on every malformed escape; the generated paths have many.
  vi.spyOn(console, "warn").mockImplementation(() => {});
});

describe("the resource-route table matches as Remix does", () => {
  it("is built for this route tree (it has no optional segments)", () => {
    expect(table).not.toBeNull();
  });

  it("for every route's own path with sample params", () => {
    const samples = ["key_abc123", "x%2Fy", "A%20B", "%E2%9C%93", "kw_", "-", "a.b"];
    const paths: string[] = [];
    for (const route of Object.values(build.routes)) {
      if (route.path === undefined) continue;
      let full = route.path;
      for (let parent = route.parentId; parent; parent = build.routes[parent]!.parentId) {
        const parentPath = build.routes[parent]!.path;
        if (parentPath) full = `${parentPath}/${full}`;
      }
      for (const sample of samples) {
        const concrete = `/${full.replace(/:[\w-]+/g, sample).replace(/\*$/, `${sample}/more`)}`;
        paths.push(concrete, `${concrete}/`, concrete.toUpperCase(), `${concrete}//`);
      }
    }
    expect(paths.length).toBeGreaterThan(100);
    for (const pathname of paths) expect(ourMatch(pathname), pathname).toEqual(remixMatch(pathname));
  });

  it("for paths that stress the rules", () => {
    const paths = [
      "/",
      "/api",
      "/api/",
      "/api/v1",
      "/api/v1/",
      "/API/V1/KEYS",
      "/api/v1/keys//rotate",
      "/api//v1/keys",
      "/api/v1/keys/%",
      "/api/v1/keys/%E0%A4%A",
      "/api/v1/keys/a%2Fb/rotate",
      "/api/v1/openapi.json",
      "/api/v1/openapi.JSON",
      "/api/v1/openapiXjson",
      "/api/trpc/keys.list,keys.get",
      "/api/trpc/",
      "/api/trpc",
      "/api/events/",
      "/api/health/extra",
      "/keys/key_1",
      "/apis/api_1/keys/new",
      "/identities/idt_1",
      "/nope/at/all",
    ];
    for (const pathname of paths) expect(ourMatch(pathname), pathname).toEqual(remixMatch(pathname));
  });

  it("for generated paths", () => {
    const segment = fc.oneof(
      fc.constantFrom("api", "v1", "trpc", "keys", "apis", "identities", "usage", "rotate", "reveal", "me", "verify", "health", "", "%2F", "bench", "openapi.json"),
      fc.stringMatching(/^[\w.%-]{1,8}$/),
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), (segments) => {
        const pathname = `/${segments.join("/")}`;
        expect(ourMatch(pathname)).toEqual(remixMatch(pathname));
      }),
      { numRuns: 2_000 },
    );
  });
});
