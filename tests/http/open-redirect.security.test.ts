import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { safeRedirect } from "../../app/session.server";
import { ODD_LOCAL_REDIRECTS, OFF_SITE_REDIRECTS } from "../support/hostile-redirects";
import { createUser, TEST_PASSWORD } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

describe("after signing in, only this app's own pages", () => {
  let app: RunningApp;
  let email: string;

  beforeAll(async () => {
    app = await startApp();
    email = (await createUser(app.keyward, "admin")).email;
  });
  afterAll(() => app?.close());

  /** A real sign-in carrying `redirectTo`, as the page's form posts it (a document POST) or as its script does (`_data`, answered 204 + X-Remix-Redirect). */
  async function signInTo(redirectTo: string, data: boolean): Promise<{ status: number; location: string | null; cookie: string | null }> {
    const response = await fetch(`${app.url}/login${data ? "?_data=routes%2Flogin" : ""}`, {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: app.url },
      body: new URLSearchParams({ email, password: TEST_PASSWORD, redirectTo }),
    });
    await response.arrayBuffer();
    return { status: response.status, location: response.headers.get(data ? "x-remix-redirect" : "location"), cookie: response.headers.get("set-cookie") };
  }

  it.each(OFF_SITE_REDIRECTS.map((to) => ({ to })))("$to signs in and lands on /keys, never a 500", async ({ to }) => {
    for (const data of [false, true]) {
      const answer = await signInTo(to, data);
      expect(answer.status).toBe(data ? 204 : 302);
      expect(answer.cookie).toMatch(/keyward_session=/);
      expect(answer.location).toBe("/keys");
    }
  });

  it.each(ODD_LOCAL_REDIRECTS)("$to stays on this origin, as $lands", async ({ to, lands }) => {
    const answer = await signInTo(to, false);
    expect(answer.status).toBe(302);
    expect(new URL(answer.location!, app.url).origin).toBe(app.url);
    expect(answer.location).toBe(lands);
  });

  it("the login page carrying any of them renders (never a 500)", async () => {
    for (const to of OFF_SITE_REDIRECTS) {
      const response = await fetch(`${app.url}/login?redirectTo=${encodeURIComponent(to)}`);
      await response.arrayBuffer();
      expect(response.status, JSON.stringify(to)).toBe(200);
    }
  });

  it("safeRedirect refuses the same values against a configured https origin", () => {
    for (const to of OFF_SITE_REDIRECTS) expect(safeRedirect(to, "https://keys.example.test"), JSON.stringify(to)).toBe("/keys");
    for (const { to, lands } of ODD_LOCAL_REDIRECTS) expect(safeRedirect(to, "https://keys.example.test")).toBe(lands);
    expect(safeRedirect(undefined, "https://keys.example.test")).toBe("/keys");
    expect(safeRedirect(`/${"a".repeat(5_000)}`, "https://keys.example.test")).toBe("/keys");
  });
});
