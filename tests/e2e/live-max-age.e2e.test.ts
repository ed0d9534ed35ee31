import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, newContext, signInAndWait, skipBrowserSuite, unexpectedProblems, watchProblems } from "../support/browser";
import { createUser } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";
import { expectEvery } from "../support/expect";

/**
 * The dashboard's EventSource in Chromium while the server ends every stream after one second:
 * the page reconnects by itself each time and keeps following changes.
 */
describe.skipIf(skipBrowserSuite("live max age e2e"))("the live dashboard across streams the server ends", () => {
  let app: RunningApp;
  let browser: Browser;

  beforeAll(async () => {
    // Two slots: the new page's stream may arrive before the server notices the old page's is gone.
    app = await startApp({ env: { KEYWARD_EVENT_STREAM_MAX_AGE_SECONDS: "1", KEYWARD_MAX_EVENT_STREAMS: "2" } });
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it("reconnects after each end (never refused, so each ended stream gave its slot back) and still shows changes without a reload", { timeout: 60_000 }, async () => {
    const admin = await createUser(app.keyward, "admin");
    const context = await newContext(browser, app.url);
    const page = await context.newPage();
    const problems = watchProblems(page);
    const streams: number[] = [];
    page.on("response", (response) => {
      if (new URL(response.url()).pathname === "/api/events") streams.push(response.status());
    });

    await signInAndWait(page, admin.email);
    await page.goto("/keys");
    await page.getByRole("heading", { name: "API keys", exact: true }).waitFor();
    const opened = streams.length;
    await expect.poll(() => streams.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(opened + 3);
    expectEvery(streams, (status) => status === 200);
    expect(app.keyward.live.slots.count(admin.id)).toBeLessThanOrEqual(1);

    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    await app.keyward.keys.create(admin.actor, { name: "Created while reconnecting", scopes: ["read"] });
    await page.getByRole("link", { name: "Created while reconnecting" }).waitFor({ timeout: 10_000 });
    await expect(page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument === true)).resolves.toBe(true);
    await page.locator('[data-testid="live-status"][data-status="live"]:visible').first().waitFor({ timeout: 10_000 });
    expectEvery(streams, (status) => status === 200);

    await context.close();
    expect(unexpectedProblems(problems, [])).toEqual([]);
    await expect.poll(() => app.keyward.live.slots.count(admin.id)).toBe(0);
  });
});
