import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { inCI } from "./ci";
import { TEST_PASSWORD } from "./keyward";

/** Debian's Chromium, driven by playwright-core; never a downloaded browser. */
export const CHROMIUM = "/usr/bin/chromium";
export const ARTIFACTS = path.resolve("tests/.artifacts");
const hasChromium = fs.existsSync(CHROMIUM);

/**
 * Whether a browser suite should be skipped: only when Chromium is missing outside CI. In CI a
 * missing Chromium fails the suite instead (launchBrowser throws), so CI can never pass by skipping.
 */
export function skipBrowserSuite(name: string): boolean {
  const skip = !hasChromium && !inCI;
  if (skip) console.warn(`[${name}] skipped: no Chromium at ${CHROMIUM} (install it with: apt-get install -y chromium). In CI this fails instead.`);
  return skip;
}

export async function launchBrowser(): Promise<Browser> {
  if (!hasChromium) throw new Error(`Chromium is missing at ${CHROMIUM}: install it with apt-get install -y chromium`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

export async function newContext(
  browser: Browser,
  baseURL: string,
  options: { viewport?: { width: number; height: number }; colorScheme?: "light" | "dark"; userAgent?: string } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({
    baseURL,
    viewport: options.viewport ?? { width: 1280, height: 800 },
    colorScheme: options.colorScheme ?? "light",
    userAgent: options.userAgent,
    acceptDownloads: true,
  });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });
  return context;
}

/**
 * Collects uncaught errors and console errors (hydration mismatches included) so a test can fail on them;
 * pass the list of another page to gather several pages' problems in one.
 */
export function watchProblems(page: Page, problems: string[] = []): string[] {
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console.error: ${message.text()}`);
  });
  return problems;
}

/** The problems left once the browser's own log lines for responses the test provoked on purpose are set aside. */
export function unexpectedProblems(problems: string[], expectedStatuses: number[]): string[] {
  return problems.filter((problem) => !expectedStatuses.some((status) => problem.includes(`Failed to load resource: the server responded with a status of ${status}`)));
}

export async function signIn(page: Page, email: string, password = TEST_PASSWORD): Promise<void> {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Signs in from the login page (opened unless the page is on it already) and waits until the app has moved past it. */
export async function signInAndWait(page: Page, email: string, password = TEST_PASSWORD): Promise<void> {
  if (!new URL(page.url()).pathname.startsWith("/login")) await page.goto("/login");
  await signIn(page, email, password);
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
}

/**
 * A screenshot for a person to look at, taken once entry animations have finished. The viewport is
 * stretched to the page's height so fixed elements (the sidebar) render as a tall window would show them.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => Promise.all(document.getAnimations().map((animation) => animation.finished.catch(() => undefined))));
  const viewport = page.viewportSize()!;
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  if (height > viewport.height) await page.setViewportSize({ width: viewport.width, height });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
  if (height > viewport.height) await page.setViewportSize(viewport);
}
