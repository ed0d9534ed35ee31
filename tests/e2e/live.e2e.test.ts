import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type DatabaseHandle } from "../../db/client.server";
import { launchBrowser, newContext, screenshot, signInAndWait, skipBrowserSuite, unexpectedProblems, watchProblems } from "../support/browser";
import { freshPostgresUrl } from "../support/database";
import { createUser, system } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";
import { serverSecrets } from "../support/secrets";

const KEY_SHAPE = /^kw_[0-9A-Za-z]{61}$/;
/** Usage is written this often here, so a request reaches the dashboards quickly. */
const FLUSH_MS = 300;

/**
 * The live dashboard in Chromium. With DATABASE_URL set, two app instances share one Postgres: the
 * browser watches instance B while the API calls and changes go through instance A, so every update
 * the page shows crossed instances by LISTEN/NOTIFY. On PGlite (one process by design) A and B are one.
 */
describe.skipIf(skipBrowserSuite("live e2e"))("live dashboard in a browser", () => {
  let a: RunningApp;
  let b: RunningApp;
  let browser: Browser;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    const env = {
      KEYWARD_USAGE_FLUSH_MS: String(FLUSH_MS),
      ...serverSecrets(),
    };
    const shared = await freshPostgresUrl();
    if (shared) {
      const handles: DatabaseHandle[] = [];
      for (let i = 0; i < 2; i++) handles.push(await openDatabase({ kind: "postgres", url: shared.url, max: 5 }));
      a = await startApp({ env, database: handles[0] });
      b = await startApp({ env, database: handles[1] });
      cleanups.push(async () => {
        for (const handle of handles) await handle.close();
        await shared.drop();
      });
    } else {
      a = await startApp({ env });
      b = a;
    }
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (b && b !== a) await b.close();
    await a?.close();
    for (const cleanup of cleanups) await cleanup();
  });

  /** Marks the document: if the page reloads, the mark is gone. */
  const markDocument = (page: Page) => page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
  const sameDocument = (page: Page) => page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument === true);

  const me = (key: string) => fetch(`${a.url}/api/v1/me`, { headers: { Authorization: `Bearer ${key}` } });
  const waitLive = (page: Page) => page.locator('[data-testid="live-status"][data-status="live"]:visible').first().waitFor({ timeout: 10_000 });
  const cardValue = async (page: Page, testId: string) => Number(((await page.getByTestId(testId).locator("[data-value]").textContent()) ?? "").replace(/,/g, ""));

  it("an admin creates a key, uses it, and watches it live; edits, rotates with grace, and revokes it", { timeout: 180_000 }, async () => {
    const admin = await createUser(a.keyward, "admin");
    const member = await createUser(a.keyward, "member");
    // Some traffic from before, so the overview looks like a real one.
    const billing = await a.keyward.keys.create(admin.actor, { name: "Billing service (production)", scopes: ["read", "write"], expiresInDays: 5 });
    const importer = await a.keyward.keys.create(member.actor, { name: "Legacy importer", scopes: ["read"], expiresInDays: 30 });
    for (let i = 0; i < 12; i++) expect((await me(billing.key)).status).toBe(200);
    for (let i = 0; i < 4; i++) await me(importer.key);
    await a.keyward.keys.disable(member.actor, importer.apiKey.id);
    for (let i = 0; i < 3; i++) expect((await me(importer.key)).status).toBe(401);

    const context = await newContext(browser, b.url);
    const page = await context.newPage();
    const problems = watchProblems(page);

    await signInAndWait(page, admin.email);
    await page.goto("/");
    await page.waitForURL(/\/overview$/);
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await waitLive(page);
    for (const label of ["Overview", "API keys", "Users", "Audit log", "Security", "Account", "API docs"]) {
      await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label, exact: true }).count()).resolves.toBe(1);
    }
    // Earlier traffic is flushed within FLUSH_MS; the page catches up by itself.
    await expect.poll(() => cardValue(page, "card-requests"), { timeout: 5000 }).toBe(19);
    await expect(cardValue(page, "card-denied")).resolves.toBe(3);
    await expect(page.getByText("Billing service (production)").first().isVisible()).resolves.toBe(true);

    // Create a key in the UI and copy it.
    await page.getByRole("link", { name: "API keys", exact: true }).click();
    await page.waitForURL(/\/keys$/);
    await page.getByRole("heading", { name: "API keys" }).waitFor();
    await page.getByRole("link", { name: "Create key" }).click();
    await page.waitForURL(/\/keys\/new$/);
    // The URL changes a moment before the new page renders; the list's "Search keys by name" box must not get the text.
    await page.getByRole("heading", { name: "Create API key" }).waitFor();
    await page.getByLabel("Name", { exact: true }).fill("Live test key");
    await page.getByRole("checkbox", { name: "write" }).check();
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByText("API key created").waitFor();
    await page.getByRole("button", { name: "Copy key" }).click();
    await page.getByRole("button", { name: "Copied" }).waitFor();
    const key = await page.evaluate(() => navigator.clipboard.readText());
    expect(key).toMatch(KEY_SHAPE);

    // The list links to the key's page.
    await page.getByRole("link", { name: "Done" }).click();
    await page.waitForURL(/\/keys$/);
    await page.getByRole("link", { name: "Live test key" }).click();
    await page.waitForURL(/\/keys\/key_[0-9A-Za-z]{20}$/);
    const keyId = new URL(page.url()).pathname.split("/").pop()!;
    await page.getByRole("heading", { name: "Live test key" }).waitFor();
    await page.getByText(/^No requests yet\. Call the API/).waitFor();
    await waitLive(page);
    await markDocument(page);

    // Use the key against instance A; the page (instance B) shows the request without a reload.
    const used = performance.now();
    expect((await me(key)).status).toBe(200);
    const requests = page.getByTestId("recent-requests");
    await requests.getByText("/api/v1/me").waitFor({ timeout: 15_000 });
    const seenAfterMs = performance.now() - used;
    console.info(`[live e2e] request visible on the key page after ${Math.round(seenAfterMs)} ms (flush every ${FLUSH_MS} ms${a === b ? "" : ", across instances"})`);
    // The target is 2 s after the flush (printed above and quoted in the README); the bound is loose so a
    // loaded CI machine measures instead of failing.
    expect(seenAfterMs).toBeLessThan(15_000);
    await expect(requests.getByText("200").isVisible()).resolves.toBe(true);
    await expect(page.getByTestId("last-used-ip").textContent()).resolves.toBe("from 127.0.0.1");
    await expect(sameDocument(page)).resolves.toBe(true);

    // The overview chart follows too.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Overview" }).click();
    await page.waitForURL(/\/overview$/);
    await expect.poll(() => page.getByTestId("usage-chart").getAttribute("data-requests").then(Number), { timeout: 15_000 }).toBe(20);
    expect((await me(key)).status).toBe(200);
    await expect.poll(() => page.getByTestId("usage-chart").getAttribute("data-requests").then(Number), { timeout: 15_000 }).toBe(21);
    await expect.poll(() => cardValue(page, "card-requests"), { timeout: 10_000 }).toBe(21);
    // The refusals of the disabled key are listed among the latest security events.
    await page.getByTestId("security-events").getByText("Key disabled").first().waitFor({ timeout: 15_000 });
    await expect(sameDocument(page)).resolves.toBe(true);
    await page.locator(".recharts-bar-rectangle path").first().waitFor();
    await screenshot(page, "overview");

    // Edit limits inline.
    await page.goto(`/keys/${keyId}`);
    await page.getByRole("button", { name: "Edit Rate limit" }).click();
    await page.getByRole("textbox", { name: "Requests", exact: true }).fill("abc");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Enter whole numbers for both").waitFor();
    await page.getByRole("textbox", { name: "Requests", exact: true }).fill("600");
    await page.getByLabel("Window in seconds").fill("60");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Rate limit saved").waitFor();
    await page.getByText("600 requests per 60 s").waitFor();

    await page.getByRole("button", { name: "Edit Allowed IP addresses" }).click();
    const allowlist = page.getByLabel("Allowed IP addresses");
    await allowlist.fill("127.0.0.1\n10.0.0.1/8");
    await page.getByText('Line 2: "10.0.0.1/8" has host bits set; the network is 10.0.0.0/8').waitFor();
    await allowlist.fill("127.0.0.1\n10.0.0.0/8");
    await page.getByText("2 valid entries.").waitFor();
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Allowed IP addresses saved").waitFor();
    await page.locator('[data-setting="allowedIps"]').getByText("10.0.0.0/8").waitFor();
    const edited = await a.keyward.keys.get(system, keyId);
    expect(edited.rateLimit).toEqual({ requests: 600, windowSeconds: 60 });
    expect(edited.allowedIps).toEqual(["127.0.0.1", "10.0.0.0/8"]);
    expect((await me(key)).status).toBe(200);
    await page.getByTestId("recent-requests").locator("tbody tr").nth(2).waitFor({ timeout: 5000 });
    await page.getByTestId("audit-trail").getByText("Settings changed").first().waitFor();
    await screenshot(page, "key-detail");

    // Rotate with a grace period: the new key is shown once, the old one keeps working, with its countdown.
    await page.getByRole("button", { name: "Rotate" }).click();
    const rotate = page.getByRole("dialog");
    await rotate.getByRole("heading", { name: "Rotate “Live test key”?" }).waitFor();
    await rotate.getByRole("button", { name: "Rotate key" }).click();
    await rotate.getByRole("heading", { name: "New key for “Live test key”" }).waitFor();
    await rotate.getByRole("button", { name: "Copy key" }).click();
    await rotate.getByRole("button", { name: "Copied" }).waitFor();
    const newKey = await page.evaluate(() => navigator.clipboard.readText());
    expect(newKey).toMatch(KEY_SHAPE);
    expect(newKey).not.toBe(key);
    await expect(rotate.getByTestId("secret-once").textContent()).resolves.toBe(newKey);
    expect(page.url()).not.toContain(newKey);
    await screenshot(page, "key-rotated-dialog");
    await rotate.getByRole("button", { name: "Done" }).click();
    await rotate.waitFor({ state: "detached" });
    await expect(page.getByText(newKey).count()).resolves.toBe(0);
    // Shown once: opening the dialog again offers a new rotation, not the same key.
    await page.getByRole("button", { name: "Rotate" }).click();
    await rotate.getByRole("heading", { name: "Rotate “Live test key”?" }).waitFor();
    await expect(page.getByText(newKey).count()).resolves.toBe(0);
    await rotate.getByRole("button", { name: "Cancel" }).click();
    await rotate.waitFor({ state: "detached" });
    expect((await me(newKey)).status).toBe(200);
    expect((await me(key)).status).toBe(200);
    const banner = page.getByTestId("expiry-countdown");
    await banner.getByText("Rotated: this key stops working in").waitFor();
    const first = await banner.getByTestId("countdown").textContent();
    expect(first).toMatch(/^(1:00:00|59:\d\d)$/);
    await expect.poll(() => banner.getByTestId("countdown").textContent(), { timeout: 3000 }).not.toBe(first);

    // Revoke the new key from its page: the confirmation names it, and the API refuses it at once.
    await banner.getByRole("link").click();
    await page.waitForURL((url) => url.pathname.startsWith("/keys/key_") && !url.pathname.endsWith(keyId));
    await page.getByText(`Replaces ${keyId}`).waitFor();
    await page.getByRole("button", { name: "Revoke" }).click();
    const confirm = page.getByRole("alertdialog");
    await confirm.getByRole("heading", { name: "Revoke “Live test key”?" }).waitFor();
    await confirm.getByRole("button", { name: "Revoke key" }).click();
    await page.getByText("Revoked “Live test key”").waitFor();
    await page.locator('h1 + [data-status="revoked"]').waitFor();
    const refused = await me(newKey);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { code: string }).code).toBe("key_revoked");
    await page.getByText("A revoked key cannot be changed.").waitFor();

    // Dark theme and phone width.
    const dark = await newContext(browser, b.url, { colorScheme: "dark" });
    await dark.addCookies(await context.cookies());
    const darkPage = await dark.newPage();
    watchProblems(darkPage, problems);
    await darkPage.goto("/overview");
    await darkPage.locator(".recharts-bar-rectangle path").first().waitFor();
    await screenshot(darkPage, "overview-dark");
    await darkPage.goto(`/keys/${keyId}`);
    await darkPage.getByTestId("recent-requests").waitFor();
    await screenshot(darkPage, "key-detail-dark");
    await dark.close();

    const phone = await newContext(browser, b.url, { viewport: { width: 390, height: 844 } });
    await phone.addCookies(await context.cookies());
    const phonePage = await phone.newPage();
    watchProblems(phonePage, problems);
    await phonePage.goto("/overview");
    await phonePage.locator(".recharts-bar-rectangle path").first().waitFor();
    await waitLive(phonePage);
    await screenshot(phonePage, "overview-phone");
    await phonePage.goto(`/keys/${keyId}`);
    await phonePage.getByTestId("recent-requests").waitFor();
    await screenshot(phonePage, "key-detail-phone");
    await phonePage.getByRole("button", { name: "Open navigation" }).click();
    await phonePage.getByRole("dialog").getByRole("link", { name: "Security" }).waitFor();
    await screenshot(phonePage, "navigation-phone");
    await phone.close();

    await context.close();
    // 400: the inline edit refused on purpose.
    expect(unexpectedProblems(problems, [400])).toEqual([]);
  });

  it("a change made through another instance reaches an open key page without reload (target 2 s, printed; asserted within 10 s), and the page says when it is offline", { timeout: 60_000 }, async () => {
    const admin = await createUser(a.keyward, "admin");
    const { key: adminKey } = await a.keyward.keys.create(admin.actor, { name: "automation", scopes: ["admin"] });
    const target = await a.keyward.keys.create(admin.actor, { name: "Watched key", scopes: ["read"] });
    const context = await newContext(browser, b.url);
    const page = await context.newPage();
    await signInAndWait(page, admin.email);
    await page.goto(`/keys/${target.apiKey.id}`);
    await waitLive(page);
    await markDocument(page);

    const started = performance.now();
    const disabled = await fetch(`${a.url}/api/v1/keys/${target.apiKey.id}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${adminKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ disabled: true }),
    });
    expect(disabled.status).toBe(200);
    await page.locator('h1 + [data-status="disabled"]').waitFor({ timeout: 10_000 });
    const tookMs = performance.now() - started;
    console.info(`[live e2e] key disabled through instance A shown on instance B's page after ${Math.round(tookMs)} ms`);
    // Target 2 s (printed above); a loose bound so a loaded CI machine measures instead of failing.
    expect(tookMs).toBeLessThan(10_000);
    await expect(sameDocument(page)).resolves.toBe(true);

    // Offline: the indicator says so, and the stream comes back by itself.
    await context.setOffline(true);
    await page.evaluate(() => window.dispatchEvent(new Event("offline")));
    await page.locator('[data-testid="live-status"][data-status="reconnecting"]:visible').getByText("Reconnecting…").waitFor();
    await context.setOffline(false);
    await page.evaluate(() => window.dispatchEvent(new Event("online")));
    await waitLive(page);
    await context.close();
  });

  it("a member cannot open another member's key page nor admin pages, and sees only their own numbers", { timeout: 60_000 }, async () => {
    const owner = await createUser(a.keyward, "member");
    const other = await createUser(a.keyward, "member");
    const theirs = await a.keyward.keys.create(owner.actor, { name: "Owner's secret project", scopes: ["read"] });
    expect((await me(theirs.key)).status).toBe(200);

    const context = await newContext(browser, b.url);
    const page = await context.newPage();
    const problems = watchProblems(page);
    await signInAndWait(page, other.email);
    await page.goto("/overview");
    await page.getByText("Your keys, updated live.").waitFor();
    await expect(cardValue(page, "card-requests")).resolves.toBe(0);
    await expect(cardValue(page, "card-active-keys")).resolves.toBe(0);
    await expect(cardValue(page, "card-open-alerts")).resolves.toBe(0);
    await expect(page.getByText("Owner's secret project").count()).resolves.toBe(0);
    const nav = page.getByRole("navigation", { name: "Main" });
    for (const label of ["Users", "Audit log", "Security"]) await expect(nav.getByRole("link", { name: label }).count()).resolves.toBe(0);

    const response = await page.goto(`/keys/${theirs.apiKey.id}`);
    expect(response?.status()).toBe(404);
    await page.getByRole("heading", { name: "Page not found" }).waitFor();
    await expect(page.getByText("Owner's secret project").count()).resolves.toBe(0);
    for (const adminPage of ["/users", "/audit", "/security"]) {
      const refused = await page.goto(adminPage);
      expect(refused?.status(), adminPage).toBe(403);
    }
    await context.close();
    expect(unexpectedProblems(problems, [403, 404])).toEqual([]);
  });
});
