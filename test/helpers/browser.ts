/**
 * Debian's Chromium driven by playwright-core (no browser download: the package is installed by
 * scripts/install-deps.sh --lab). Screenshots go to test/artifacts/screenshots/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** The real binary: /usr/bin/chromium is a wrapper script. */
export const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => existsSync(p));

export const browserMissing = (): string | undefined => (CHROMIUM ? undefined : 'Chromium is not installed (scripts/install-deps.sh --lab)');

export async function launchBrowser(): Promise<Browser> {
  if (!CHROMIUM) throw new Error('no Chromium');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

export const SCREENSHOTS = resolve('test/artifacts/screenshots');

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** A fresh box through the web UI: the first-boot form sets the administrator password, then log in to the dashboard. */
export async function firstBootAndLogIn(page: Page, base: string, password: string): Promise<void> {
  await page.goto(base);
  await page.getByRole('form', { name: 'first-boot setup' }).waitFor();
  await page.fill('input[name=password]', password);
  await page.fill('input[name=again]', password);
  await page.click('button[type=submit]');
  await page.getByRole('form', { name: 'login' }).waitFor();
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.getByRole('region', { name: 'dashboard' }).waitFor();
}
