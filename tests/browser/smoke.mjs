// Smoke test of the browser set-up: `node smoke.mjs <url>` opens the page, prints its h1 as
// JSON ({"h1": "..."}) on stdout, saves smoke.png in BROWSER_ARTIFACTS and exits 1 when the
// page logged a console error or threw.
import { fail, launch, screenshot } from './browser.mjs';

const url = process.argv[2] ?? fail('usage: node smoke.mjs <url>');
const { browser, page, consoleErrors } = await launch();
let problem;
try {
  await page.goto(url);
  const h1 = await page.locator('h1').first().textContent({ timeout: 10_000 });
  console.log(JSON.stringify({ h1 }));
  await screenshot(page, 'smoke.png');
} catch (err) {
  problem = `${url}: ${err.message}`;
} finally {
  await browser.close();
}
if (problem) fail(problem);
if (consoleErrors.length > 0) fail(`${url} logged errors:\n${consoleErrors.join('\n')}`);
