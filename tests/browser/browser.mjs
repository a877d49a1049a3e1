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

// Opens `url` in a new headless Chromium, runs `work(page)` on it, prints what it returns as
// JSON on stdout and closes the browser; exits 1 (via `fail`) when the work threw or the page
// logged a console error.
export async function checkPage(url, work) {
  const { browser, page, consoleErrors } = await launch();
  let problem;
  try {
    await page.goto(url);
    console.log(JSON.stringify(await work(page)));
  } catch (err) {
    problem = `${url}: ${err.message}`;
  } finally {
    await browser.close();
  }
  if (problem) fail(problem);
  if (consoleErrors.length > 0) fail(`${url} logged errors:\n${consoleErrors.join('\n')}`);
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
