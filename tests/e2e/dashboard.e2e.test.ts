import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, newContext, screenshot, signIn, skipBrowserSuite, unexpectedProblems, watchProblems } from "../support/browser";
import { createUser, TEST_PASSWORD } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

const KEY_SHAPE = /^kw_[0-9A-Za-z]{61}$/;

describe.skipIf(skipBrowserSuite("dashboard e2e"))("dashboard in a browser", () => {
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

  const callMe = (key: string) => fetch(`${app.url}/api/trpc/me`, { headers: { Authorization: `Bearer ${key}` } });

  it("an admin creates a key, sees it once, copies it, uses it, and revokes it", { timeout: 120_000 }, async () => {
    const admin = await createUser(app.keyward, "admin");
    const member = await createUser(app.keyward, "member");
    // A few existing keys so the list looks like a real one (owners, statuses, scopes).
    await app.keyward.keys.create(admin.actor, { name: "Billing service (production)", description: "Charges and invoices", scopes: ["read", "write"], expiresInDays: 90 });
    const legacy = await app.keyward.keys.create(member.actor, { name: "Legacy importer", scopes: ["read"], expiresInDays: 30, rateLimit: { requests: 100, windowSeconds: 60 } });
    await app.keyward.keys.disable(member.actor, legacy.apiKey.id);
    const staging = await app.keyward.keys.create(admin.actor, { name: "Old staging", scopes: ["admin"], expiresAt: null });
    await app.keyward.keys.revoke(admin.actor, staging.apiKey.id);

    const context = await newContext(browser, app.url);
    const page = await context.newPage();
    const problems = watchProblems(page);

    await page.goto("/keys");
    await page.waitForURL(/\/login\?redirectTo=%2Fkeys$/);
    await expect(page.getByRole("heading", { name: "Sign in" }).isVisible()).resolves.toBe(true);
    await screenshot(page, "login");

    await signIn(page, admin.email);
    await page.waitForURL(/\/keys$/);
    await page.getByRole("heading", { name: "API keys" }).waitFor();
    await expect(page.getByTestId("signed-in-email").textContent()).resolves.toBe(admin.email);
    await expect(page.getByRole("link", { name: "Users" }).count()).resolves.toBe(1);

    await page.getByRole("link", { name: "Create key" }).click();
    await page.waitForURL(/\/keys\/new$/);

    // The server validates too: without a name or a scope, and with a bad allowlist entry, it answers 400 per field.
    await page.getByRole("checkbox", { name: "read" }).uncheck();
    await page.getByLabel(/Allowed IP addresses/).fill("127.0.0.1\nnot-an-ip");
    const refused = page.waitForResponse((response) => response.request().method() === "POST" && new URL(response.url()).pathname === "/keys/new");
    await page.getByRole("button", { name: "Create key" }).click();
    expect((await refused).status()).toBe(400);
    await page.getByText("Name is required").waitFor();
    await page.getByText("Choose at least one scope").waitFor();
    await page.getByText('Line 2: "not-an-ip" is not an IPv4 or IPv6 address').waitFor();
    await expect(page.getByLabel("Name").getAttribute("aria-invalid")).resolves.toBe("true");
    await screenshot(page, "create-form-errors");

    await page.getByRole("checkbox", { name: "read" }).check();
    await page.getByLabel("Name").fill("CI deploy key");
    await expect(page.getByText("Name is required").count()).resolves.toBe(0);
    await expect(page.getByText("Choose at least one scope").count()).resolves.toBe(0);
    await page.getByLabel("Description").fill("Used by the deploy pipeline");
    await page.getByRole("checkbox", { name: "write" }).check();

    // The allowlist is checked as it is typed, with the same rules the server applies.
    const allowlist = page.getByLabel(/Allowed IP addresses/);
    await allowlist.fill("127.0.0.1\n10.0.0.1/8");
    await page.getByText('Line 2: "10.0.0.1/8" has host bits set; the network is 10.0.0.0/8').waitFor();
    await allowlist.fill("127.0.0.1\n10.0.0.0/8");
    await expect(page.getByText("Line 2:").count()).resolves.toBe(0);
    await page.getByLabel("Requests").fill("600");
    await page.getByLabel("Window in seconds").fill("60");
    await screenshot(page, "create-form");

    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByText("API key created").waitFor();
    const key = (await page.getByTestId("new-key").textContent())?.trim() ?? "";
    expect(key).toMatch(KEY_SHAPE);
    await expect(page.getByText("It will not be shown again").isVisible()).resolves.toBe(true);
    const curl = (await page.locator("#curl-example").textContent()) ?? "";
    expect(curl.replace(/\\\n\s*/, "")).toBe(`curl -H "Authorization: Bearer ${key}" ${app.url}/api/trpc/me`);
    expect(page.url()).not.toContain(key);
    await screenshot(page, "key-shown-once");

    await page.getByRole("button", { name: "Copy key" }).click();
    await page.getByRole("button", { name: "Copied" }).waitFor();
    await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(key);

    const me = await callMe(key);
    expect(me.status).toBe(200);
    const body = (await me.json()) as { result: { data: { user: { email: string }; scopes: string[] } } };
    expect(body.result.data.user.email).toBe(admin.email);
    expect(body.result.data.scopes).toEqual(["read", "write"]);

    await page.getByRole("link", { name: "Done" }).click();
    await page.waitForURL(/\/keys$/);
    const row = page.locator("tr", { has: page.getByText("CI deploy key", { exact: true }) });
    await row.getByText("Active").waitFor();
    await expect(page.locator("tr", { hasText: "Legacy importer" }).textContent()).resolves.toContain(member.email);
    await expect(page.getByText(key).count()).resolves.toBe(0);
    await screenshot(page, "keys-list");

    // Disable and enable from the row menu; the API follows each change.
    await row.getByRole("button", { name: "Actions for CI deploy key" }).click();
    await page.getByRole("menuitem", { name: "Disable" }).click();
    await row.getByText("Disabled").waitFor();
    await page.getByText("Disabled “CI deploy key”").waitFor();
    expect((await callMe(key)).status).toBe(401);
    await row.getByRole("button", { name: "Actions for CI deploy key" }).click();
    await page.getByRole("menuitem", { name: "Enable" }).click();
    await row.getByText("Active").waitFor();
    expect((await callMe(key)).status).toBe(200);

    await row.getByRole("button", { name: "Actions for CI deploy key" }).click();
    await page.getByRole("menuitem", { name: "Revoke…" }).click();
    const dialog = page.getByRole("alertdialog");
    await dialog.getByRole("heading", { name: "Revoke “CI deploy key”?" }).waitFor();
    await screenshot(page, "revoke-dialog");
    await dialog.getByRole("button", { name: "Revoke key" }).click();
    await row.getByText("Revoked").waitFor();
    await page.getByText("Revoked “CI deploy key”").waitFor();

    expect((await callMe(key)).status).toBe(401);
    await page.reload();
    await page.locator("tr", { has: page.getByText("CI deploy key", { exact: true }) }).getByText("Revoked").waitFor();

    // Users: the admin adds a member through the dialog.
    await page.getByRole("link", { name: "Users" }).click();
    await page.waitForURL(/\/users$/);
    await page.getByRole("cell", { name: member.email, exact: true }).waitFor();
    await page.getByRole("button", { name: "Add user" }).click();
    const addUser = page.getByRole("dialog");
    await addUser.getByLabel("Email").fill("new.person@example.test");
    await addUser.getByLabel("Initial password").fill("short");
    await addUser.getByRole("button", { name: "Add user" }).click();
    await addUser.getByText("Use at least 10 characters").waitFor();
    await addUser.getByLabel("Initial password").fill(TEST_PASSWORD);
    await addUser.getByRole("button", { name: "Add user" }).click();
    await page.getByText("Created new.person@example.test").waitFor();
    await page.getByRole("cell", { name: "new.person@example.test", exact: true }).waitFor();
    await screenshot(page, "users");
    await page.getByRole("link", { name: "API keys" }).click();
    await page.waitForURL(/\/keys$/);

    // The status filter narrows the list on the server.
    await page.getByLabel("Filter by status").click();
    await page.getByRole("option", { name: "Disabled" }).click();
    await page.waitForURL(/status=disabled/);
    await page.locator("tbody tr", { hasText: "Legacy importer" }).waitFor();
    // The URL changes before the filtered rows replace the old ones: wait for the others to go.
    await page.locator("tbody tr").nth(1).waitFor({ state: "detached" });
    await expect(page.locator("tbody tr").count()).resolves.toBe(1);

    // Phone width, dark system theme: the list stays usable behind a navigation drawer, and the
    // theme is applied by the head script before the first paint (the served HTML has no theme class).
    const phone = await newContext(browser, app.url, { viewport: { width: 390, height: 844 }, colorScheme: "dark" });
    await phone.addCookies(await context.cookies());
    const phonePage = await phone.newPage();
    watchProblems(phonePage, problems);
    await phonePage.goto("/keys");
    await phonePage.getByRole("heading", { name: "API keys" }).waitFor();
    await expect(phonePage.evaluate(() => document.documentElement.classList.contains("dark"))).resolves.toBe(true);
    await screenshot(phonePage, "keys-list-phone");
    await phonePage.getByRole("button", { name: "Open navigation" }).click();
    await phonePage.getByRole("dialog").getByRole("link", { name: "Users" }).waitFor();
    await phonePage.getByRole("dialog").getByRole("link", { name: "API keys" }).click();
    await phonePage.getByRole("link", { name: "Create key" }).click();
    await phonePage.getByLabel("Name").waitFor();
    await screenshot(phonePage, "create-form-phone-dark");
    await phone.close();

    await context.close();
    // 400: the validation round trips provoked above.
    expect(unexpectedProblems(problems, [400])).toEqual([]);
  });

  it("a member sees no Users navigation and gets 403 on /users", { timeout: 60_000 }, async () => {
    const member = await createUser(app.keyward, "member");
    const context = await newContext(browser, app.url);
    const page = await context.newPage();
    const problems = watchProblems(page);

    await page.goto("/login");
    await signIn(page, member.email, "not the password at all");
    await page.getByText("The email or password is not right").waitFor();

    await signIn(page, member.email);
    await page.waitForURL(/\/keys$/);
    await page.getByText("No API keys yet").waitFor();
    await expect(page.getByRole("link", { name: "Create your first key" }).isVisible()).resolves.toBe(true);
    await expect(page.getByRole("link", { name: "Users" }).count()).resolves.toBe(0);

    // A longer list: 20 per page, "Load more" fetches the next page by cursor, and search narrows by name.
    for (let i = 1; i <= 21; i++) {
      await app.keyward.keys.create(member.actor, { name: `Worker ${String(i).padStart(2, "0")}`, scopes: ["read"], expiresInDays: 30 });
    }
    await page.reload();
    await expect(page.locator("tbody tr").count()).resolves.toBe(20);
    await page.getByRole("button", { name: "Load more" }).click();
    await page.getByText("Worker 01", { exact: true }).waitFor();
    await expect(page.locator("tbody tr").count()).resolves.toBe(21);
    await expect(page.getByRole("button", { name: "Load more" }).count()).resolves.toBe(0);
    await page.getByLabel("Search keys by name").fill("worker 07");
    await page.waitForURL(/q=worker\+07/);
    await page.locator("tbody tr").first().getByText("Worker 07").waitFor();
    await page.locator("tbody tr").nth(1).waitFor({ state: "detached" });
    await expect(page.locator("tbody tr").count()).resolves.toBe(1);

    const response = await page.goto("/users");
    expect(response?.status()).toBe(403);
    await page.getByRole("heading", { name: "You don't have access to this page" }).waitFor();

    // Members may grant only what they hold.
    await page.goto("/keys/new");
    await expect(page.getByRole("checkbox").count()).resolves.toBe(2);
    await expect(page.getByRole("checkbox", { name: "admin" }).count()).resolves.toBe(0);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/login$/);
    await page.goto("/keys");
    await page.waitForURL(/\/login\?redirectTo=%2Fkeys$/);

    await context.close();
    // 401: the refused sign-in; 403: the /users page.
    expect(unexpectedProblems(problems, [401, 403])).toEqual([]);
  });
});
