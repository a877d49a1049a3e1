// The Swagger UI page of a host: `node swagger.mjs <page url>` opens it, waits for the
// operations, opens "setJobStatus", fills its path parameter and sends the pre-filled body,
// then prints {"tags", "operations", "schemas", "answer"} as JSON on stdout and saves
// swagger.png in BROWSER_ARTIFACTS. Exits 1 when the page logged a console error or threw.
import { checkPage, fail, screenshot } from './browser.mjs';

const url = process.argv[2] ?? fail('usage: node swagger.mjs <url>');
await checkPage(url, async (page) => {
  await page.locator('details.op').first().waitFor({ timeout: 10_000 });
  const tags = await page.locator('main section > h2').allTextContents();
  const operations = await page.locator('section details.op').count();
  const schemas = await page.locator('details[id^="schema-"]').count();
  const op = page.locator('#op-setJobStatus');
  await op.locator('summary').click();
  await op.getByLabel('path parameter jobId').fill('job-from-the-page');
  await op.getByRole('button', { name: 'Send' }).click();
  const answer = await op.locator('.answer p span').first().textContent({ timeout: 10_000 });
  await screenshot(page, 'swagger.png');
  return { tags, operations, schemas, answer };
});
