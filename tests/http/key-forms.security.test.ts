import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, system } from "../support/keyward";
import { login, startApp, type RunningApp } from "../support/server";

/** The dashboard's key forms refuse what the key service refuses with a field error, never a 500. */
describe("key forms: expiry range and the operator's rate bound", () => {
  let app: RunningApp;
  let cookie: string;
  let keyId: string;
  beforeAll(async () => {
    app = await startApp({ env: { KEYWARD_MAX_RATE_LIMIT: "1000/60" } });
    const admin = await createUser(app.keyward, "admin");
    cookie = await login(app, admin.email, "correct horse battery staple");
    keyId = (await app.keyward.keys.create(system, { name: "edited", scopes: ["read"], ownerId: admin.id })).apiKey.id;
  });
  afterAll(() => app?.close());

  const post = (path: string, route: string, fields: Record<string, string>) =>
    fetch(`${app.url}${path}?_data=${route}`, {
      method: "POST",
      headers: { Cookie: cookie, Origin: app.url, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields),
    });
  const create = (fields: Record<string, string>) => post("/keys/new", "routes/_app.keys.new", { name: "from the form", scopes: "read", expiry: "30", ...fields });

  it("refuses a custom expiry past the accepted range on the date field", async () => {
    const response = await create({ expiry: "custom", expiresOn: "9999-12-31", tzOffset: "0" });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { fieldErrors: Record<string, string[]> };
    expect(body.fieldErrors.expiresOn?.[0]).toMatch(/^Must be between/);
  });

  it("shows the rate bound's refusal on the requests field", async () => {
    const response = await create({ rateLimitRequests: "5000", rateLimitWindow: "60" });
    expect(response.status).toBe(422);
    const body = (await response.json()) as { fieldErrors: Record<string, string[]> };
    expect(body.fieldErrors.rateLimitRequests?.[0]).toContain("KEYWARD_MAX_RATE_LIMIT");
  });

  it("refuses an edited expiry past the accepted range", async () => {
    const response = await post(`/keys/${keyId}`, "routes/_app.keys.$id", { intent: "update", field: "expiresAt", expiresOn: "9999-12-31", tzOffset: "0" });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/^Must be between/);
    expect((await app.keyward.keys.get(system, keyId)).expiresAt).toBeNull();
  });
});
