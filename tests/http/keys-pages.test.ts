import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, system } from "../support/keyward";
import { login, startApp, type RunningApp } from "../support/server";

/** The keys pages' loader and action over HTTP: list filters and order, and the create form's metadata field. */
describe("keys pages", () => {
  let app: RunningApp;
  let cookie: string;
  let admin: Awaited<ReturnType<typeof createUser>>;
  let member: Awaited<ReturnType<typeof createUser>>;
  beforeAll(async () => {
    app = await startApp();
    admin = await createUser(app.keyward, "admin");
    member = await createUser(app.keyward, "member");
    cookie = await login(app, admin.email, "correct horse battery staple");
    await app.keyward.keys.create(system, { name: "member read", scopes: ["read"], ownerId: member.id });
    await app.keyward.keys.create(system, { name: "admin ops", scopes: ["admin"], ownerId: admin.id });
    await app.keyward.keys.create(system, { name: "member write", scopes: ["write"], ownerId: member.id });
  });
  afterAll(() => app?.close());

  const listed = async (query: string) => {
    const response = await fetch(`${app.url}/keys?${query}&_data=routes/_app.keys._index`, { headers: { Cookie: cookie } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { keys: { name: string }[] }).keys.map((k) => k.name);
  };

  it("filters by scope and owner, and sorts oldest first", async () => {
    expect(await listed("scope=admin")).toEqual(["admin ops"]);
    expect(await listed(`owner=${member.id}`)).toEqual(["member write", "member read"]);
    expect(await listed(`owner=${member.id}&order=oldest`)).toEqual(["member read", "member write"]);
    expect(await listed(`owner=${member.id}&scope=write`)).toEqual(["member write"]);
    // Unknown values fall back to the defaults instead of failing the page.
    expect(await listed("scope=root&order=sideways&owner=nobody")).toEqual(["member write", "admin ops", "member read"]);
  });

  const create = (fields: Record<string, string>) =>
    fetch(`${app.url}/keys/new?_data=routes/_app.keys.new`, {
      method: "POST",
      headers: { Cookie: cookie, Origin: app.url, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ name: "with metadata", scopes: "read", expiry: "30", ...fields }),
    });

  it.each([
    ["{not json", "Metadata must be valid JSON"],
    ["[1, 2]", "Metadata must be a JSON object"],
    ['"text"', "Metadata must be a JSON object"],
  ])("refuses metadata %s with a field error", async (metadata, message) => {
    const response = await create({ metadata });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { fieldErrors: Record<string, string[]> };
    expect(body.fieldErrors.metadata?.[0]).toContain(message);
  });

  it("stores a metadata object with the new key", async () => {
    const response = await create({ metadata: '{"plan": "pro", "team": "billing"}' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { ok: boolean; apiKey: { id: string } };
    expect(body.ok).toBe(true);
    expect((await app.keyward.keys.get(system, body.apiKey.id)).metadata).toEqual({ plan: "pro", team: "billing" });
  });
});
