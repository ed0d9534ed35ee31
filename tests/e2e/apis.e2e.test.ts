import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageRecorder } from "../../app/services/usage.server";
import { launchBrowser, newContext, screenshot, signInAndWait, skipBrowserSuite, unexpectedProblems, watchProblems } from "../support/browser";
import { createUser } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

/** The body of the `-d '…'` argument of the verify snippet's curl command. */
function curlBody(curl: string): unknown {
  const match = /-d '([^']*)'/.exec(curl);
  if (!match) throw new Error(`no -d body in: ${curl}`);
  return JSON.parse(match[1]!);
}

describe.skipIf(skipBrowserSuite("APIs e2e"))("APIs, issued keys and identities in a browser", () => {
  let app: RunningApp;
  let browser: Browser;

  beforeAll(async () => {
    app = await startApp();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  const verify = async (rootKey: string, body: unknown) => {
    const response = await fetch(`${app.url}/api/v1/verify`, { method: "POST", headers: { Authorization: `Bearer ${rootKey}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
    expect(response.status).toBe(200);
    return (await response.json()) as { valid: boolean; code: string; identity?: { externalId: string } | null; permissions?: string[] };
  };

  /** Screens of one page, dark and at phone width, signed in with the cookies of `page`, after `act` if given. */
  const phoneDark = async (page: Page, path: string, name: string, problems: string[], act?: (phonePage: Page) => Promise<void>) => {
    const phone = await newContext(browser, app.url, { viewport: { width: 390, height: 844 }, colorScheme: "dark" });
    await phone.addCookies(await page.context().cookies());
    const phonePage = await phone.newPage();
    watchProblems(phonePage, problems);
    await phonePage.goto(path);
    await phonePage.locator("h1").first().waitFor();
    await act?.(phonePage);
    await screenshot(phonePage, name);
    await phone.close();
  };

  it("creates an API, issues a key to a new identity, verifies it with the snippet's body, and revokes it from the identity's page", { timeout: 180_000 }, async () => {
    // A member: an API is its creator's, so the list starts empty (an admin would see everyone's).
    const member = await createUser(app.keyward, "member");
    const other = await createUser(app.keyward, "member");
    // Another user's API holds a prefix, so the form meets a taken one.
    await app.keyward.apis.create(other.actor, { name: "Someone else's API", prefix: "acme_test" });
    const { key: rootKey } = await app.keyward.keys.create(member.actor, { name: "verifier", scopes: ["read"] });

    const context = await newContext(browser, app.url);
    const page = await context.newPage();
    const problems = watchProblems(page);
    await signInAndWait(page, member.email);

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "APIs", exact: true }).click();
    await page.waitForURL(/\/apis$/);
    await page.getByText("No APIs yet").waitFor();
    await screenshot(page, "apis-empty");

    await page.getByRole("link", { name: "Create your first API" }).click();
    await page.waitForURL(/\/apis\/new$/);
    await page.getByLabel("Name", { exact: true }).fill("Acme public API");
    const prefix = page.getByLabel("Key prefix");
    await prefix.fill("kw");
    await page.getByText("reserved for Keyward's root keys").waitFor();
    await prefix.fill("acme_test");
    const preview = (await page.getByTestId("key-preview").textContent()) ?? "";
    expect(preview).toHaveLength(64);
    expect(preview.startsWith("acme_test_")).toBe(true);
    await page.getByLabel("Permission vocabulary").fill("orders.read\norders.write\nreports.read");
    await page.getByLabel(/Implications/).fill("orders.write: orders.read");
    await page.getByLabel(/Expires after/).fill("30");

    // The taken prefix is refused by the server, by its field.
    const refused = page.waitForResponse((response) => response.request().method() === "POST" && new URL(response.url()).pathname === "/apis/new");
    await page.getByRole("button", { name: "Create API" }).click();
    expect((await refused).status()).toBe(409);
    await page.getByText('The prefix "acme_test" is already taken by another API').waitFor();
    await expect(prefix.getAttribute("aria-invalid")).resolves.toBe("true");
    await screenshot(page, "api-create-taken-prefix");

    await prefix.fill("acme_live");
    await expect(page.getByTestId("key-preview").textContent()).resolves.toMatch(/^acme_live_X{54}$/);
    await screenshot(page, "api-create");
    await page.getByRole("button", { name: "Create API" }).click();
    await page.waitForURL(/\/apis\/api_[0-9A-Za-z]{20}$/);
    const apiId = new URL(page.url()).pathname.split("/")[2]!;
    await page.getByRole("heading", { name: "Acme public API" }).waitFor();
    await page.getByText("No keys yet").waitFor();
    await screenshot(page, "api-page-empty");

    await page.getByRole("link", { name: "Issue key" }).click();
    await page.waitForURL(new RegExp(`/apis/${apiId}/keys/new$`));
    await page.getByLabel(/External id/).fill("customer_42");
    await page.getByRole("checkbox", { name: "orders.read" }).check();
    await page.getByRole("checkbox", { name: "orders.write" }).check();
    await page.getByLabel(/Metadata/).fill('{"plan": "pro"}');
    await screenshot(page, "issue-key-form");
    await page.getByRole("button", { name: "Issue key" }).click();
    await page.getByText("Key issued").waitFor();

    const key = ((await page.getByTestId("new-key").textContent()) ?? "").trim();
    expect(key).toMatch(/^acme_live_[0-9A-Za-z]{54}$/);
    expect(page.url()).not.toContain(key);
    const curl = (await page.locator("#verify-curl").textContent()) ?? "";
    const sdk = (await page.locator("#verify-sdk").textContent()) ?? "";
    for (const snippet of [curl, sdk]) expect(snippet).not.toContain(rootKey);
    expect(curl).toContain(`-H "Authorization: Bearer $KEYWARD_ROOT_KEY"`);
    expect(curl).toContain(`${app.url}/api/v1/verify `);
    expect(sdk).toContain("process.env.KEYWARD_ROOT_KEY");
    expect(sdk).toContain(`apiId: "${apiId}"`);
    const body = curlBody(curl);
    expect(body).toEqual({ key, apiId, permissions: ["orders.read", "orders.write"] });
    await page.getByRole("button", { name: "Copy key" }).click();
    await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(key);
    await screenshot(page, "issued-key");

    const valid = await verify(rootKey, body);
    expect(valid).toMatchObject({ valid: true, code: "VALID", identity: { externalId: "customer_42" }, permissions: ["orders.read", "orders.write"] });
    expect((await verify(rootKey, { key, apiId, permissions: ["reports.read"] })).code).toBe("INSUFFICIENT_PERMISSIONS");

    await page.getByRole("link", { name: "Open identity" }).click();
    await page.waitForURL(/\/identities\/idt_[0-9A-Za-z]{20}$/);
    const identityPath = new URL(page.url()).pathname;
    await page.getByRole("heading", { name: "customer_42" }).waitFor();
    const row = page.locator("tbody tr", { hasText: "customer_42" });
    await row.getByText("Active").waitFor();
    await expect(row.getByRole("link", { name: "Acme public API" }).count()).resolves.toBe(1);
    // The metadata given was the key's; the identity created with it has none of its own.
    await page.getByText("None. Verification answers carry it as identity.meta.").waitFor();
    await screenshot(page, "identity-page");

    await page.getByRole("button", { name: "Revoke all keys" }).click();
    const dialog = page.getByRole("alertdialog");
    await dialog.getByRole("heading", { name: "Revoke the 1 key of customer_42?" }).waitFor();
    await screenshot(page, "identity-revoke-dialog");
    await dialog.getByRole("button", { name: "Revoke 1 key" }).click();
    await page.getByText("Revoked 1 key of customer_42").waitFor();
    await row.getByText("Revoked").waitFor();

    expect(await verify(rootKey, body)).toMatchObject({ valid: false, code: "REVOKED" });

    // The identity is listed, found by its external id and filtered by API.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Identities" }).click();
    await page.waitForURL(/\/identities$/);
    await page.getByLabel("Search by external id").fill("customer_4");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/q=customer_4/);
    await page.getByRole("link", { name: "customer_42" }).waitFor();
    await screenshot(page, "identities");

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "APIs", exact: true }).click();
    await page.locator("tr", { hasText: "Acme public API" }).getByText("acme_live_").waitFor();
    await screenshot(page, "apis-list");

    // Dark theme at phone width.
    await phoneDark(page, `/apis/${apiId}`, "api-page-phone-dark", problems);
    await phoneDark(page, `/apis/${apiId}/keys/new`, "issue-key-form-phone-dark", problems);
    await phoneDark(page, identityPath, "identity-page-phone-dark", problems);
    await phoneDark(page, "/apis/new", "api-create-phone-dark", problems);

    await context.close();
    // 409: the taken prefix provoked above.
    expect(unexpectedProblems(problems, [409])).toEqual([]);
  });

  it("charts verifications by outcome on the API, identity and key pages, and follows new ones live", { timeout: 180_000 }, async () => {
    const member = await createUser(app.keyward, "member");
    const api = await app.keyward.apis.create(member.actor, { name: "Metered API", prefix: "metered_e2e", permissions: ["orders.read", "orders.write"] });
    const { key, apiKey } = await app.keyward.keys.createIssued(member.actor, api.id, { name: "storefront", externalId: "customer_chart", permissions: ["orders.read"] });
    const { key: oldKey, apiKey: oldApiKey } = await app.keyward.keys.createIssued(member.actor, api.id, { name: "retired", externalId: "customer_chart" });
    await app.keyward.keys.revoke(member.actor, oldApiKey.id);
    const { key: rootKey } = await app.keyward.keys.create(member.actor, { name: "verifier", scopes: ["read"] });
    const flush = () => (app.keyward.usage as UsageRecorder).flush();

    const context = await newContext(browser, app.url);
    const page = await context.newPage();
    const problems = watchProblems(page);
    await signInAndWait(page, member.email);
    await page.goto(`/apis/${api.id}`);
    await page.getByText("No verifications in this period").waitFor();

    for (let i = 0; i < 4; i++) expect((await verify(rootKey, { key, apiId: api.id, tags: ["GET /orders", "shop"] })).code).toBe("VALID");
    expect((await verify(rootKey, { key, apiId: api.id, permissions: ["orders.write"] })).code).toBe("INSUFFICIENT_PERMISSIONS");
    for (let i = 0; i < 2; i++) expect((await verify(rootKey, { key: oldKey, apiId: api.id })).code).toBe("REVOKED");
    await flush();

    // The open page follows the flush by itself.
    const chart = page.getByTestId("verification-chart");
    await expect.poll(() => chart.getAttribute("data-total").then(Number), { timeout: 15_000 }).toBe(7);
    await expect(chart.getAttribute("aria-label")).resolves.toBe("Verifications of Metered API, last 24 hours: 7 verifications, 4 valid, 2 revoked, 1 insufficient permissions");
    const totals = page.getByTestId("outcome-totals");
    await expect(totals.locator('[data-outcome="VALID"]').textContent()).resolves.toBe("Valid4");
    await expect(totals.locator('[data-outcome="REVOKED"]').textContent()).resolves.toBe("Revoked2");
    await expect(page.getByRole("list", { name: "Top keys by volume" }).getByRole("listitem").allTextContents()).resolves.toEqual(["storefront5 verifications", "retired2 verifications"]);
    await expect(page.getByRole("list", { name: "Top keys by refusals" }).getByRole("listitem").allTextContents()).resolves.toEqual(["retired2 refused", "storefront1 refused"]);
    // The bars are drawn (empty buckets have no shape).
    await chart.locator(".recharts-bar-rectangle path").first().waitFor();
    await screenshot(page, "api-verifications");

    // The last hour, chosen in the URL.
    await page.getByRole("group", { name: "Chart period" }).getByRole("link", { name: "Hour" }).click();
    await page.waitForURL(/\?g=minute$/);
    // The URL changes before the new period's data is drawn: wait for the chart to say so.
    await expect.poll(() => chart.getAttribute("aria-label"), { timeout: 15_000 }).toContain("last hour: 7 verifications");

    expect((await verify(rootKey, { key, apiId: api.id })).code).toBe("VALID");
    await flush();
    await expect.poll(() => chart.getAttribute("data-total").then(Number), { timeout: 15_000 }).toBe(8);
    const barsDrawn = (phonePage: Page) => phonePage.getByTestId("verification-chart").locator(".recharts-bar-rectangle path").first().waitFor();
    await phoneDark(page, `/apis/${api.id}`, "api-verifications-phone-dark", problems, barsDrawn);

    // The identity's keys together.
    await page.goto(`/identities/${apiKey.identityId}`);
    await expect(chart.getAttribute("data-total")).resolves.toBe("8");
    await screenshot(page, "identity-verifications");

    // The key's page: its own verifications, and its log with outcome and tags.
    await page.goto(`/keys/${apiKey.id}`);
    await expect(chart.getAttribute("aria-label")).resolves.toBe("Verifications of storefront, last 24 hours: 6 verifications, 5 valid, 1 insufficient permissions");
    const log = page.getByTestId("recent-requests");
    await log.getByText("INSUFFICIENT_PERMISSIONS").waitFor();
    await expect(log.getByText("VALID", { exact: true }).count()).resolves.toBe(5);
    await expect(log.getByRole("list", { name: "Tags" }).first().textContent()).resolves.toBe("GET /ordersshop");
    await screenshot(page, "issued-key-verifications");
    await phoneDark(page, `/keys/${apiKey.id}`, "issued-key-verifications-phone-dark", problems, barsDrawn);

    await context.close();
    expect(unexpectedProblems(problems, [])).toEqual([]);
  });

  it("picks an existing identity from the suggestions, edits an issued key's permissions, and filters the keys list by kind and API", { timeout: 180_000 }, async () => {
    const member = await createUser(app.keyward, "member");
    const api = await app.keyward.apis.create(member.actor, {
      name: "Shop API",
      prefix: "shop",
      permissions: ["orders.read", "orders.write", "reports.read"],
      defaults: { rateLimit: { requests: 500, windowSeconds: 60 } },
    });
    await app.keyward.keys.createIssued(member.actor, api.id, { externalId: "customer_alpha" });
    await app.keyward.keys.create(member.actor, { name: "member root key", scopes: ["read"] });

    const context = await newContext(browser, app.url);
    const page = await context.newPage();
    const problems = watchProblems(page);
    await signInAndWait(page, member.email);

    // The issue form's rate limits start from the API's default, and it suggests existing external ids.
    await page.goto(`/apis/${api.id}/keys/new`);
    await page.getByText("Starts from the default of Shop API.").waitFor();
    await expect(page.getByLabel("Name of limit 1").inputValue()).resolves.toBe("requests");
    await expect(page.getByLabel("Requests allowed by limit 1").inputValue()).resolves.toBe("500");
    await expect(page.getByLabel("Window of limit 1 in seconds").inputValue()).resolves.toBe("60");
    const externalId = page.getByRole("combobox", { name: /External id/ });
    await externalId.fill("alp");
    const suggestions = page.getByRole("listbox", { name: "Existing external ids" });
    await suggestions.getByRole("option", { name: "customer_alpha" }).waitFor();
    await externalId.press("ArrowDown");
    await expect(externalId.getAttribute("aria-activedescendant")).resolves.toBeTruthy();
    await externalId.press("Enter");
    await expect(externalId.inputValue()).resolves.toBe("customer_alpha");
    await expect(suggestions.isHidden()).resolves.toBe(true);
    await page.getByRole("checkbox", { name: "orders.read" }).check();
    // The suggestions' button and list, dark: the native datalist's arrow was dark on dark.
    await phoneDark(page, `/apis/${api.id}/keys/new`, "issue-key-suggestions-phone-dark", problems, async (phonePage) => {
      await phonePage.getByRole("button", { name: "Existing external ids" }).click();
      await phonePage.getByRole("option", { name: "customer_alpha" }).waitFor();
    });
    await page.getByRole("button", { name: "Issue key" }).click();
    await page.getByText("Key issued").waitFor();
    const { data: issued } = await app.keyward.keys.list(member.actor, { apiId: api.id, externalId: "customer_alpha" });
    expect(issued).toHaveLength(2);
    const apiKey = issued.find((key) => key.permissions.length > 0)!;
    expect(apiKey).toMatchObject({ permissions: ["orders.read"], rateLimit: { requests: 500, windowSeconds: 60 } });

    // Its permissions, edited on its page: a box of the vocabulary and a typed wildcard.
    await page.goto(`/keys/${apiKey.id}`);
    const setting = page.locator('[data-setting="permissions"]');
    await setting.getByRole("button", { name: "Edit Permissions" }).click();
    await setting.getByRole("checkbox", { name: "orders.write" }).check();
    await setting.getByLabel("Wildcards and other grants").fill("reports.*");
    await setting.getByRole("button", { name: "Save" }).click();
    await page.getByText("Permissions saved").waitFor();
    await setting.getByText("reports.*").waitFor();
    await expect(app.keyward.keys.get(member.actor, apiKey.id)).resolves.toMatchObject({ permissions: ["orders.read", "orders.write", "reports.*"] });

    // A grant outside the vocabulary is refused under the field, and the key keeps its permissions.
    await setting.getByRole("button", { name: "Edit Permissions" }).click();
    await setting.getByLabel("Wildcards and other grants").fill("billing.read");
    await setting.getByRole("button", { name: "Save" }).click();
    await setting.getByText(/Not permissions of Shop API: billing\.read/).waitFor();
    await expect(setting.getByLabel("Wildcards and other grants").getAttribute("aria-invalid")).resolves.toBe("true");
    await screenshot(page, "issued-key-permissions-refused");
    await setting.getByRole("button", { name: "Cancel" }).click();
    await setting.getByText("reports.*").waitFor();
    await screenshot(page, "issued-key-page");
    await phoneDark(page, `/keys/${apiKey.id}`, "issued-key-page-phone-dark", problems);

    // The keys list, narrowed to issued keys of the API by its filters, in the URL.
    await page.goto("/keys");
    await page.getByRole("link", { name: "member root key" }).waitFor();
    await page.getByRole("combobox", { name: "Filter by kind" }).click();
    await page.getByRole("option", { name: "Issued keys" }).click();
    await page.waitForURL(/\/keys\?kind=issued$/);
    await page.getByRole("combobox", { name: "Filter by API" }).click();
    await page.getByRole("option", { name: "Shop API" }).click();
    await page.waitForURL(new RegExp(`/keys\\?kind=issued&apiId=${api.id}$`));
    await page.locator("tbody tr").nth(1).waitFor();
    await expect(page.locator("tbody tr").count()).resolves.toBe(2);
    await expect(page.getByRole("link", { name: "member root key" }).count()).resolves.toBe(0);
    await screenshot(page, "keys-filtered-by-api");

    await context.close();
    // 400/422: the refused permissions edit above.
    expect(unexpectedProblems(problems, [400, 422])).toEqual([]);
  });
});
