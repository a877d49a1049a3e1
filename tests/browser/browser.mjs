// Shared helpers for the page tests: headless Chromium (Debian's /usr/bin/chromium) driven
// by playwright-core. tests/browser/setup.sh installs both; tests/src/browser.rs runs the
// scripts with BROWSER_ARTIFACTS set.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// Without these Chromium hangs or retries network calls on a machine with no internet.
// Playwright adds --headless and a fresh, empty --user-data-dir itself.
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Launches headless Chromium with a new page; returns {browser, page, consoleErrors}, where
// consoleErrors collects (as strings) every console.error and every uncaught page error.
// Close `browser` when done.
export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ARGS,
  });
  const page = await browser.newPage();
  const consoleErrors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(`console.error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`page error: ${err.message}`));
  return { browser, page, consoleErrors };
}

// Prints `msg` to stderr and exits with status 1.
export function fail(msg) {
  console.error(msg);
  process.exit(1);
}

// Saves a full-page PNG of `page` as `name` in the BROWSER_ARTIFACTS directory (created when
// missing); returns its path.
export async function screenshot(page, name) {
  const dir = process.env.BROWSER_ARTIFACTS;
  if (!dir) fail('BROWSER_ARTIFACTS is not set');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  await page.screenshot({ path, fullPage: true });
  return path;
}
