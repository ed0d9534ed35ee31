import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, system, TEST_PASSWORD } from "../support/keyward";
import { login, startApp, type RunningApp } from "../support/server";

/**
 * Every dashboard page rendered in full (server render, not only its loader) with hostile query
 * strings: the filter names each page reads, with empty, unknown, huge and odd values. A page
 * answers 200 (or a redirect / 4xx it means), never a 500: the filters a loader falls back from
 * must not crash the render that reads them.
 */
describe("dashboard pages under hostile query strings", () => {
  let app: RunningApp;
  const cookies: Record<"admin" | "member", string> = { admin: "", member: "" };
  const pages: string[] = ["/overview", "/keys", "/keys/new", "/users", "/account", "/audit", "/security"];

  beforeAll(async () => {
    app = await startApp();
    const admin = await createUser(app.keyward, "admin");
    const member = await createUser(app.keyward, "member");
    cookies.admin = await login(app, admin.email, TEST_PASSWORD);
    cookies.member = await login(app, member.email, TEST_PASSWORD);
    const key = await app.keyward.keys.create(system, { name: "fuzzed", scopes: ["read"], ownerId: member.id });
    pages.push(`/keys/${key.apiKey.id}`, `/users/${member.id}`);
  });
  afterAll(() => app?.close());

  /** Cursors and filter dates PostgreSQL cannot store, or outside the range Keyward accepts. */
  const unstorableDates = ["0000-01-01T00:00:00.000Z", "+275760-09-13T00:00:00.000Z", "-271821-04-20T00:00:00.000Z", "1969-12-31T23:59:59.999Z", "+010000-01-01T00:00:00.000Z"];
  const datedCursors = unstorableDates.flatMap((at) => [
    Buffer.from(JSON.stringify([at, "key_00000000000000000000"])).toString("base64url"),
    Buffer.from(JSON.stringify([at, 1])).toString("base64url"),
  ]);

  const names = ["q", "status", "scope", "owner", "order", "cursor", "range", "g", "kind", "severity", "key", "action", "actor", "target", "from", "to", "page", "_data"];
  const values = fc.oneof(
    fc.constantFrom("", " ", "all", "any", "null", "undefined", "-1", "0", "1e309", "NaN", "[]", "{}", "%", "\u0000", "key_", "usr_x", "2026-13-45", "9999-12-31T00:00:00Z"),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: "grapheme", maxLength: 20 }),
    fc.constant("x".repeat(5000)),
    fc.constantFrom(...unstorableDates, ...datedCursors),
  );
  const query = fc.array(fc.tuple(fc.constantFrom(...names), values), { maxLength: 5 });

  const render = async (role: "admin" | "member", path: string, search: URLSearchParams) => {
    const response = await fetch(`${app.url}${path}?${search}`, { headers: { Cookie: cookies[role] }, redirect: "manual" });
    await response.arrayBuffer();
    return response.status;
  };

  it.each(["admin", "member"] as const)("renders every page for %s with every filter empty, unknown or huge", async (role) => {
    for (const path of pages) {
      for (const value of ["", "bogus", "-1", "x".repeat(5000), "\u0000", "2026-13-45"]) {
        // Every filter name at once, each set to the same odd value (`_data` left out: the document render is the point).
        const search = new URLSearchParams(names.filter((name) => name !== "_data").map((name) => [name, value]));
        expect(await render(role, path, search), `${path} with every filter = ${JSON.stringify(value.slice(0, 20))}`).toBeLessThan(500);
      }
    }
  });

  it.each(["admin", "member"] as const)("ignores, for %s, a cursor or date filter dated where the database cannot go", async (role) => {
    for (const path of pages) {
      // As if the parameters were absent: the page itself, or the refusal the role gets anyway.
      const plain = await render(role, path, new URLSearchParams());
      for (const value of [...datedCursors, ...unstorableDates]) {
        const search = new URLSearchParams([["cursor", value], ["from", value], ["to", value]]);
        expect(await render(role, path, search), `${path}?${search}`).toBe(plain);
      }
    }
  });

  it.each(["admin", "member"] as const)("renders every page for %s under random filter combinations, never a 500", async (role) => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), query, async (pick, params) => {
        const search = new URLSearchParams(params.filter(([name]) => name !== "_data"));
        const path = pages[pick % pages.length]!;
        expect(await render(role, path, search), `${path}?${search}`).toBeLessThan(500);
      }),
      { numRuns: 40 },
    );
  });
});
