import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, newContext, screenshot, signInAndWait, skipBrowserSuite, unexpectedProblems, watchProblems } from "../support/browser";
import { createUser, TEST_PASSWORD } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const NEW_PASSWORD = "a brand new passphrase";
const PHONE = { width: 390, height: 844 };

describe.skipIf(skipBrowserSuite("users/account e2e"))("users and account pages in a browser", () => {
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

  /**
   * The same page in the other looks (dark at 1280 px, dark at phone width), signed in with the
   * same cookies; the theme must be applied before first paint.
   */
  async function otherLooks(from: BrowserContext, url: string, heading: string, name: string, problems: string[]) {
    for (const [suffix, viewport] of [["dark", undefined], ["phone-dark", PHONE]] as const) {
      const context = await newContext(browser, app.url, { viewport, colorScheme: "dark" });
      await context.addCookies(await from.cookies());
      const page = await context.newPage();
      watchProblems(page, problems);
      await page.goto(url);
      await page.getByRole("heading", { name: heading, exact: true }).waitFor();
      await expect(page.evaluate(() => document.documentElement.classList.contains("dark"))).resolves.toBe(true);
      await screenshot(page, `${name}-${suffix}`);
      await context.close();
    }
  }

  it("an admin adds a user, changes a role, sees a user's keys, and disabling them ends their open session", { timeout: 180_000 }, async () => {
    const admin = await createUser(app.keyward, "admin", "dana.admin@example.test");
    const member = await createUser(app.keyward, "member", "sam.member@example.test");
    await createUser(app.keyward, "member", "lee.former@example.test").then((u) => app.keyward.users.disable(admin.actor, u.id));
    const billing = await app.keyward.keys.create(member.actor, { name: "Billing worker", description: "Charges cards", scopes: ["read", "write"], expiresInDays: 90 });
    const reports = await app.keyward.keys.create(member.actor, { name: "Nightly reports", scopes: ["read"], expiresInDays: 30 });
    await app.keyward.keys.disable(member.actor, reports.apiKey.id);
    await app.keyward.keys.create(admin.actor, { name: "Admin's own key", scopes: ["admin"] });

    const problems: string[] = [];
    // The member is signed in elsewhere, in a browser of their own.
    const memberContext = await newContext(browser, app.url);
    const memberPage = await memberContext.newPage();
    watchProblems(memberPage, problems);
    await memberPage.goto("/keys");
    await signInAndWait(memberPage, member.email);
    await memberPage.getByRole("heading", { name: "API keys", exact: true }).waitFor();

    const context = await newContext(browser, app.url);
    const page = await context.newPage();
    watchProblems(page, problems);
    await page.goto("/users");
    await signInAndWait(page, admin.email);
    await page.waitForURL(/\/users$/);
    await page.getByRole("heading", { name: "Users", exact: true }).waitFor();
    const row = (email: string) => page.locator("tbody tr", { has: page.getByRole("link", { name: email, exact: true }) });
    await row(member.email).locator('[data-role="member"]:visible').waitFor();
    await row("lee.former@example.test").locator('[data-status="disabled"]').waitFor();

    // Add a user: the server's rules show per field, then it is created.
    await page.getByRole("button", { name: "Add user" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Email").fill("not-an-email");
    await dialog.getByLabel("Initial password").fill("short");
    await dialog.getByRole("button", { name: "Add user" }).click();
    await dialog.getByText("Enter a valid email address").waitFor();
    await dialog.getByText("Use at least 10 characters").waitFor();
    await expect(dialog.getByLabel("Email").getAttribute("aria-invalid")).resolves.toBe("true");
    await dialog.getByLabel("Email").fill("New.Hire@Example.test");
    await dialog.getByLabel("Initial password").fill(TEST_PASSWORD);
    await dialog.getByRole("button", { name: "Add user" }).click();
    await page.getByText("Created new.hire@example.test").waitFor();
    await row("new.hire@example.test").locator('[data-status="active"]').waitFor();

    // Change a role from the row menu.
    await row("new.hire@example.test").getByRole("button", { name: "Actions for new.hire@example.test" }).click();
    await page.getByRole("menuitem", { name: "Make admin" }).click();
    await page.getByText("new.hire@example.test is now an admin").waitFor();
    await row("new.hire@example.test").locator('[data-role="admin"]:visible').waitFor();
    expect((await app.keyward.users.findByEmail("new.hire@example.test"))?.role).toBe("admin");
    // One's own row offers no way to demote or disable oneself.
    await row(admin.email).getByRole("button", { name: `Actions for ${admin.email}` }).click();
    await expect(page.getByRole("menuitem", { name: /Disable|Make member/ }).count()).resolves.toBe(0);
    await page.keyboard.press("Escape");
    await screenshot(page, "users");

    // Search narrows the list as one types; the filter shows disabled people only.
    await page.getByLabel("Search users by email").fill("sam.");
    await page.locator("tbody tr").nth(1).waitFor({ state: "detached" });
    await expect(page.locator("tbody tr").count()).resolves.toBe(1);
    await page.getByLabel("Search users by email").fill("");
    await page.getByLabel("Show").click();
    await page.getByRole("option", { name: "Disabled" }).click();
    await page.waitForURL(/show=disabled/);
    await page.locator("tbody tr").nth(1).waitFor({ state: "detached" });
    await expect(page.locator("tbody tr").count()).resolves.toBe(1);
    await row("lee.former@example.test").waitFor();
    await page.getByRole("button", { name: "Reset" }).click();
    await row(member.email).waitFor();

    // The user's page: details and their keys, each linking to the key's page.
    await row(member.email).getByRole("link", { name: member.email }).click();
    await page.waitForURL(new RegExp(`/users/${member.id}$`));
    await page.getByRole("heading", { name: member.email }).waitFor();
    const keyLink = page.getByRole("link", { name: "Billing worker" });
    await expect(keyLink.getAttribute("href")).resolves.toBe(`/keys/${billing.apiKey.id}`);
    await page.locator("tbody tr", { hasText: "Nightly reports" }).getByText("Disabled").waitFor();
    await expect(page.getByText("Admin's own key").count()).resolves.toBe(0);
    await page.getByText("2 keys owned by this user.").waitFor();
    await screenshot(page, "user-detail");

    // Disable them: the confirmation says their sessions end; their open browser is signed out.
    await page.getByRole("button", { name: "Disable user…" }).click();
    const confirm = page.getByRole("alertdialog");
    await confirm.getByText("Every session they have ends now").waitFor();
    await confirm.getByRole("button", { name: "Disable user" }).click();
    await page.getByText(`Disabled ${member.email}; their sessions have ended`).waitFor();
    await page.locator('[data-status="disabled"]').first().waitFor();
    await page.getByText("They stop working while the user is disabled.").waitFor();
    // (A live dashboard may already have revalidated to the sign-in page; either way the next navigation lands there.)
    await memberPage.goto("/keys");
    await memberPage.waitForURL(/\/login\?redirectTo=%2Fkeys$/);
    await memberPage.getByRole("heading", { name: "Sign in" }).waitFor();

    // Enable them again; they can sign in once more.
    await page.getByRole("button", { name: "Enable user" }).click();
    await page.getByText(`Enabled ${member.email}`).waitFor();
    await page.locator('[data-status="active"]').first().waitFor();
    await signInAndWait(memberPage, member.email);
    await memberPage.getByRole("heading", { name: "API keys", exact: true }).waitFor();

    // Role change from the user's page.
    await page.getByLabel("Role").click();
    await page.getByRole("option", { name: /^Admin/ }).click();
    await page.getByText(`${member.email} is now an admin`).waitFor();
    expect((await app.keyward.users.get(admin.actor, member.id)).role).toBe("admin");

    await otherLooks(context, "/users", "Users", "users", problems);
    await otherLooks(context, `/users/${member.id}`, member.email, "user-detail", problems);
    await memberContext.close();
    await context.close();
    // 400: the create-user validation round trip provoked above.
    expect(unexpectedProblems(problems, [400])).toEqual([]);
  });

  it("changing the password ends the other browser's session but keeps this one; sessions can be ended one by one", { timeout: 180_000 }, async () => {
    const member = await createUser(app.keyward, "member", "alex.member@example.test");
    const problems: string[] = [];

    const phoneContext = await newContext(browser, app.url, { userAgent: IPHONE });
    const phonePage = await phoneContext.newPage();
    watchProblems(phonePage, problems);
    await signInAndWait(phonePage, member.email);

    const context = await newContext(browser, app.url);
    const page = await context.newPage();
    watchProblems(page, problems);
    await signInAndWait(page, member.email);
    // Members have no Users page: no link, and a 403 on the URLs.
    await expect(page.getByRole("link", { name: "Users" }).count()).resolves.toBe(0);
    expect((await page.goto("/users"))?.status()).toBe(403);
    expect((await page.goto(`/users/${member.id}`))?.status()).toBe(403);

    await page.goto("/account");
    await page.getByRole("heading", { name: "Account", exact: true }).waitFor();
    const sessionRows = page.locator("tbody tr[data-session]");
    await expect(sessionRows.count()).resolves.toBe(2);
    await page.locator("tr[data-current]").getByText("This device").waitFor();
    await page.locator("tr[data-current]").getByText("Chrome on Linux").waitFor();
    await page.locator("tbody tr", { hasText: "Safari on iOS" }).getByRole("button", { name: /End session/ }).waitFor();
    await screenshot(page, "account");

    // A wrong current password is a field error, and changes nothing.
    await page.getByLabel("Current password").fill("not my password");
    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel("Repeat new password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("The current password is not right").waitFor();
    await expect(page.getByLabel("Current password").getAttribute("aria-invalid")).resolves.toBe("true");
    // The two new ones must match.
    await page.getByLabel("Current password").fill(TEST_PASSWORD);
    await page.getByLabel("Repeat new password").fill(`${NEW_PASSWORD}!`);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("The two new passwords differ").waitFor();
    await screenshot(page, "account-password-errors");

    await page.getByLabel("Repeat new password").fill(NEW_PASSWORD);
    const changing = page.getByRole("button", { name: "Changing…" });
    await page.getByRole("button", { name: "Change password" }).click();
    await changing.waitFor({ state: "detached" });
    await page.getByText("Password changed. 1 other session was signed out.").waitFor();
    await expect(page.getByLabel("Current password").inputValue()).resolves.toBe("");
    await expect(sessionRows.count()).resolves.toBe(1);

    // The other browser is sent to sign in on its next navigation; this one stays signed in.
    await phonePage.getByRole("link", { name: "Create key" }).first().click();
    await phonePage.waitForURL(/\/login/);
    await page.goto("/keys");
    await page.getByRole("heading", { name: "API keys", exact: true }).waitFor();
    await expect(app.keyward.auth.login(member.email, TEST_PASSWORD)).rejects.toMatchObject({ code: "invalid_credentials" });

    // Sign in again on the phone, then end that session from here.
    await signInAndWait(phonePage, member.email, NEW_PASSWORD);
    await page.goto("/account");
    await expect(sessionRows.count()).resolves.toBe(3 - 1);
    await page.locator("tbody tr", { hasText: "Safari on iOS" }).getByRole("button", { name: /End session/ }).click();
    await page.getByText("Session ended: that device is signed out.").waitFor();
    await expect(sessionRows.count()).resolves.toBe(1);
    await phonePage.reload();
    await phonePage.waitForURL(/\/login/);

    // End all others, from a fresh sign-in elsewhere.
    await signInAndWait(phonePage, member.email, NEW_PASSWORD);
    await page.reload();
    await expect(sessionRows.count()).resolves.toBe(2);
    await page.getByRole("button", { name: "End all other sessions" }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "End other sessions" }).click();
    await page.getByText("Signed out 1 other session.").waitFor();
    await expect(sessionRows.count()).resolves.toBe(1);
    await expect(page.getByRole("button", { name: "End all other sessions" }).isDisabled()).resolves.toBe(true);
    await phonePage.reload();
    await phonePage.waitForURL(/\/login/);

    await otherLooks(context, "/account", "Account", "account", problems);
    await phoneContext.close();
    await context.close();
    // 403: the member's /users visits; 422: the refused password changes.
    expect(unexpectedProblems(problems, [403, 422])).toEqual([]);
  });
});
