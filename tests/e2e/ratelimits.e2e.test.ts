import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageRecorder } from "../../app/services/usage.server";
import { launchBrowser, newContext, screenshot, signInAndWait, skipBrowserSuite, unexpectedProblems, watchProblems } from "../support/browser";
import { createUser } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

describe.skipIf(skipBrowserSuite("named rate limits e2e"))("named rate limits on the key page in a browser", () => {
  let app: RunningApp;
  let browser: Browser;

  beforeAll(async () => {
    app = await startApp({ env: { KEYWARD_MAX_RATE_LIMIT: "1000/60" } });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  /** The limits the key page lists, as "name count per window". */
  const shownLimits = (page: Page) =>
    page.locator('[data-setting="ratelimits"] [data-ratelimit]').evaluateAll((items) => items.map((item) => [...item.children].map((part) => part.textContent?.replace(/\s+/g, " ").trim()).join(" ")));

  it("adds, changes and removes an issued key's named limits; a refused limit shows under the editor", { timeout: 180_000 }, async () => {
    const member = await createUser(app.keyward, "member");
    const api = await app.keyward.apis.create(member.actor, { name: "Limited", prefix: "limited" });
    const identity = await app.keyward.identities.create(member.actor, { apiId: api.id, externalId: "acme-corp", ratelimits: [{ name: "shared", limit: 600, durationSeconds: 60 }] });
    const { apiKey } = await app.keyward.keys.createIssued(member.actor, api.id, { identityId: identity.id, name: "checkout service", ratelimits: [{ name: "requests", limit: 10, durationSeconds: 1 }] });

    const context = await newContext(browser, app.url);
    const page = await context.newPage();
    const problems = watchProblems(page);
    await signInAndWait(page, member.email);
    await page.goto(`/keys/${apiKey.id}`);
    await page.locator("h1").first().waitFor();
    expect(await shownLimits(page)).toEqual(["requests 10 per second"]);

    await page.getByRole("button", { name: "Edit Rate limits" }).click();
    const editor = page.locator('[data-setting="ratelimits"]');
    await editor.getByRole("button", { name: "Add limit" }).click();
    await editor.getByLabel("Name of limit 2").fill("daily");
    await editor.getByLabel("Requests allowed by limit 2").fill("5000");
    await editor.getByLabel("Window of limit 2 in seconds").fill("86400");
    await screenshot(page, "key-ratelimits-editor");
    // Looser than KEYWARD_MAX_RATE_LIMIT (1000 a minute): refused by the server, shown under the editor, nothing saved.
    await editor.getByRole("button", { name: "Save" }).click();
    await editor.getByText(/KEYWARD_MAX_RATE_LIMIT/).waitFor();
    await screenshot(page, "key-ratelimits-refused");
    await editor.getByLabel("Requests allowed by limit 2").fill("1000");
    await editor.getByLabel("Requests allowed by limit 1").fill("15");
    await editor.getByRole("button", { name: "Save" }).click();
    await page.getByRole("button", { name: "Edit Rate limits" }).waitFor();
    expect(await shownLimits(page)).toEqual(["requests 15 per second", "daily 1,000 per day"]);
    expect((await app.keyward.keys.get(member.actor, apiKey.id)).ratelimits).toEqual([
      { name: "requests", limit: 15, durationSeconds: 1 },
      { name: "daily", limit: 1000, durationSeconds: 86_400 },
    ]);
    await screenshot(page, "key-ratelimits-saved");

    // Removing the first leaves the daily quota; the audit panel records the change.
    await page.getByRole("button", { name: "Edit Rate limits" }).click();
    await editor.getByRole("button", { name: "Remove limit requests" }).click();
    await editor.getByRole("button", { name: "Save" }).click();
    await page.getByRole("button", { name: "Edit Rate limits" }).waitFor();
    expect(await shownLimits(page)).toEqual(["daily 1,000 per day"]);
    expect((await app.keyward.keys.get(member.actor, apiKey.id)).ratelimits).toEqual([{ name: "daily", limit: 1000, durationSeconds: 86_400 }]);

    // Dark theme at phone width, with the editor open.
    const phone = await newContext(browser, app.url, { viewport: { width: 390, height: 844 }, colorScheme: "dark" });
    await phone.addCookies(await context.cookies());
    const phonePage = await phone.newPage();
    watchProblems(phonePage, problems);
    await phonePage.goto(`/keys/${apiKey.id}`);
    await phonePage.locator("h1").first().waitFor();
    await phonePage.getByRole("button", { name: "Edit Rate limits" }).click();
    await phonePage.locator('[data-setting="ratelimits"]').getByRole("button", { name: "Add limit" }).click();
    await phonePage.locator('[data-setting="ratelimits"]').scrollIntoViewIfNeeded();
    await screenshot(phonePage, "key-ratelimits-phone-dark");
    await phonePage.goto(`/identities/${identity.id}`);
    await phonePage.locator('[data-shared-limits] [data-ratelimit="shared"]').waitFor();
    await phonePage.locator("[data-shared-limits]").scrollIntoViewIfNeeded();
    await screenshot(phonePage, "identity-shared-limits-phone-dark");
    await phone.close();

    expect(unexpectedProblems(problems, [422])).toEqual([]);
    await context.close();
  });

  it("the API page ranks keys and identities by volume and refusals, and lists keys near their credit end", { timeout: 180_000 }, async () => {
    const member = await createUser(app.keyward, "member");
    const api = await app.keyward.apis.create(member.actor, { name: "Metered", prefix: "metered", permissions: ["orders.read"] });
    const { key: rootKey } = await app.keyward.keys.create(member.actor, { name: "verifier", scopes: ["read"] });
    const busy = await app.keyward.keys.createIssued(member.actor, api.id, { name: "busy key", externalId: "acme-corp", permissions: ["orders.read"] });
    const low = await app.keyward.keys.createIssued(member.actor, api.id, { name: "almost spent", externalId: "globex", credits: { remaining: 4, refill: { interval: "daily", amount: 100 } } });
    const verify = (key: string, body: Record<string, unknown> = {}) =>
      fetch(`${app.url}/api/v1/verify`, { method: "POST", headers: { Authorization: `Bearer ${rootKey}`, "Content-Type": "application/json" }, body: JSON.stringify({ key, ...body }) });
    for (let i = 0; i < 6; i++) await verify(busy.key);
    await verify(busy.key, { permissions: ["orders.write"] });
    for (let i = 0; i < 6; i++) await verify(low.key);
    await (app.keyward.usage as UsageRecorder).flush();

    const context = await newContext(browser, app.url);
    const page = await context.newPage();
    const problems = watchProblems(page);
    await signInAndWait(page, member.email);
    await page.goto(`/apis/${api.id}`);
    await page.locator("[data-top-lists]").waitFor();
    const list = (name: string) => page.getByRole("list", { name }).getByRole("listitem").allInnerTexts();
    expect((await list("Top keys by volume")).map((text) => text.replace(/\s+/g, " "))).toEqual(["busy key 7 verifications", "almost spent 6 verifications"]);
    expect((await list("Top keys by refusals")).map((text) => text.replace(/\s+/g, " "))).toEqual(["almost spent 2 refused", "busy key 1 refused"]);
    expect((await list("Top identities by refusals")).map((text) => text.replace(/\s+/g, " "))).toEqual(["globex 2 refused", "acme-corp 1 refused"]);
    expect((await list("Keys near their credit end")).map((text) => text.replace(/\s+/g, " "))).toEqual(["almost spent 0 left of 100"]);
    await screenshot(page, "api-page-top-lists");

    const phone = await newContext(browser, app.url, { viewport: { width: 390, height: 844 }, colorScheme: "dark" });
    await phone.addCookies(await context.cookies());
    const phonePage = await phone.newPage();
    watchProblems(phonePage, problems);
    await phonePage.goto(`/apis/${api.id}`);
    await phonePage.locator("[data-near-credit-end]").waitFor();
    await screenshot(phonePage, "api-page-top-lists-phone-dark");
    await phone.close();
    expect(unexpectedProblems(problems, [])).toEqual([]);
    await context.close();
  });
});
