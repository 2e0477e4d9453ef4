/**
 * Debian's Chromium driven by playwright-core, headless, for the console's browser tests; and the
 * axe-core check every screen passes. There is no fallback browser: without /usr/bin/chromium the
 * tests fail with the command that installs it (`.ci/run` and `npm test`'s pretest install it).
 */
import { existsSync } from 'node:fs';
import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * A page of a new context of `browser` as the console tests use it: 1280×900, reduced motion (the
 * console then skips transitions, so axe never judges a half-faded dialog), 20 s waits.
 */
export async function newConsolePage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    reducedMotion: 'reduce',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  return page;
}

/** Signs `email` in on the console's sign-in page of the server at `base`. */
export async function signInToConsole(page: Page, base: string, email: string, password: string) {
  await page.goto(`${base}/console/`);
  await page.getByRole('textbox', { name: 'Email', exact: true }).fill(email);
  await page.getByRole('textbox', { name: 'Password', exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * The serious and critical accessibility violations axe-core finds on the page (WCAG 2 A and AA
 * rules), as `rule: selectors` lines, so a failing test says what to fix.
 */
export async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa']).analyze();
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(
      (violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`,
    );
}
