// Smoke test of the browser set-up: `node smoke.mjs <url>` opens the page, prints its h1 as
// JSON ({"h1": "..."}) on stdout, saves smoke.png in BROWSER_ARTIFACTS and exits 1 when the
// page logged a console error or threw.
import { checkPage, fail, screenshot } from './browser.mjs';

const url = process.argv[2] ?? fail('usage: node smoke.mjs <url>');
await checkPage(url, async (page) => {
  const h1 = await page.locator('h1').first().textContent({ timeout: 10_000 });
  await screenshot(page, 'smoke.png');
  return { h1 };
});
