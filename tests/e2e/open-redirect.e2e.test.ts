import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, newContext, signIn, skipBrowserSuite } from "../support/browser";
import { ODD_LOCAL_REDIRECTS, OFF_SITE_REDIRECTS } from "../support/hostile-redirects";
import { createUser } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

/**
 * The phishing link as a victim follows it: /login?redirectTo=… opened in Chromium, signed in
 * through the page's own form. The browser must end on this app's origin, having asked no other
 * host for anything and run no script from the link.
 */
describe.skipIf(skipBrowserSuite("open redirect e2e"))("sign-in links in a browser", () => {
  let app: RunningApp;
  let browser: Browser;
  let email: string;

  beforeAll(async () => {
    app = await startApp();
    browser = await launchBrowser();
    email = (await createUser(app.keyward, "admin")).email;
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  /** Where the browser ends after following the link and signing in, and what it tried elsewhere on the way. */
  async function followLink(redirectTo: string): Promise<{ landed: URL; offSite: string[]; dialogs: string[] }> {
    const context = await newContext(browser, app.url);
    const offSite: string[] = [];
    const dialogs: string[] = [];
    // Any request to another origin is recorded and never reaches the network.
    await context.route(
      (url) => url.origin !== app.url,
      (route) => {
        offSite.push(route.request().url());
        return route.abort();
      },
    );
    const page = await context.newPage();
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(`/login?redirectTo=${encodeURIComponent(redirectTo)}`);
    await signIn(page, email);
    // Leaving the sign-in page is the signed-in outcome; a blocked off-site navigation stays on it, and is told apart by `offSite`.
    await page.waitForURL((url) => !url.pathname.startsWith("/login"), { timeout: 10_000 }).catch(() => undefined);
    const landed = new URL(page.url());
    await context.close();
    return { landed, offSite, dialogs };
  }

  it("every hostile redirectTo lands on /keys of this app", { timeout: 180_000 }, async () => {
    const wrong: string[] = [];
    for (const to of OFF_SITE_REDIRECTS) {
      const { landed, offSite, dialogs } = await followLink(to);
      if (landed.origin !== app.url || landed.pathname !== "/keys" || offSite.length > 0 || dialogs.length > 0) {
        wrong.push(`${JSON.stringify(to)} → ${landed.href} offSite=${JSON.stringify(offSite)} dialogs=${JSON.stringify(dialogs)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("odd but local paths stay on this origin", { timeout: 60_000 }, async () => {
    for (const { to, lands } of ODD_LOCAL_REDIRECTS) {
      const { landed, offSite } = await followLink(to);
      expect(landed.origin, JSON.stringify(to)).toBe(app.url);
      expect(`${landed.pathname}${landed.search}${landed.hash}`, JSON.stringify(to)).toBe(lands);
      expect(offSite).toEqual([]);
    }
  });
});
