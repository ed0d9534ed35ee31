import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../support/keyward";
import { login, startApp, type RunningApp } from "../support/server";

/** A body that is not a readable form is the client's mistake: 400 with a message, never a 500. */
describe("malformed form posts", () => {
  let app: RunningApp;
  let cookie: string;
  beforeAll(async () => {
    app = await startApp();
    const admin = await createUser(app.keyward, "admin");
    cookie = await login(app, admin.email, "correct horse battery staple");
  });
  afterAll(() => app?.close());

  const garbage = { "Content-Type": "multipart/form-data; boundary=----nope", Origin: "" };

  it.each(["/login", "/keys?index", "/keys/new", "/users", "/account", "/security"])("POST %s with a broken multipart body gets 400", async (path) => {
    const response = await fetch(`${app.url}${path}`, {
      method: "POST",
      redirect: "manual",
      headers: { ...garbage, Origin: app.url, Cookie: cookie },
      body: "this is not multipart at all",
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("The form could not be read");
  });
});
