// Drives the host's dashboard the way a user would. Usage: node dashboard.mjs <base URL> <scenario JSON>
// where the scenario names what the test started: {"hello": id, "approval": id,
// "terminate": id, "entity": {"name", "key"}, "key": the host key, if it needs one,
// "big": an instance with a long history, to time its timeline, "locked": {"key"} of an
// entity of the same name whose lock an orchestration holds, "tagged": an instance started
// with the tag team=alpha}. Prints a JSON report; exits 1 on any failure or
// console error, saving screenshots of the list and a timeline either way.
import { fail, launch, screenshot } from './browser.mjs';

const [base, scenarioText] = process.argv.slice(2);
if (!base || !scenarioText) fail('usage: node dashboard.mjs <base URL> <scenario JSON>');
const scenario = JSON.parse(scenarioText);
const report = {};
const { browser, page, consoleErrors } = await launch();
page.on('dialog', (d) => d.accept());
page.setDefaultTimeout(15000);

async function step(name, work) {
  try {
    report[name] = (await work()) ?? true;
  } catch (e) {
    await screenshot(page, `failed-${name}.png`).catch(() => {});
    await browser.close();
    fail(`dashboard step "${name}" failed: ${e.message}\nreport so far: ${JSON.stringify(report)}\nconsole: ${consoleErrors.join('\n')}`);
  }
}

const row = (id) => page.locator(`#instances tr[data-instance="${id}"]`);

await step('list', async () => {
  await page.goto(`${base}/dashboard/`);
  if (scenario.key) {
    // Outside local development mode the page asks for the key once.
    await page.locator('#key-dialog[open]').waitFor();
    await page.fill('#key-input', scenario.key);
    await page.click('#key-form button[type=submit]');
  }
  await row(scenario.hello).waitFor();
  const all = await page.locator('.counts button[data-status="All"]').innerText();
  const first = await page.locator('#instances tbody tr').first().getAttribute('data-instance');
  await screenshot(page, 'instances.png');
  return { all, first };
});

await step('keyboard', async () => {
  // From the top of the list, Tab reaches an instance link and Enter opens it.
  await page.locator('body').focus();
  for (let i = 0; i < 60; i += 1) {
    await page.keyboard.press('Tab');
    const on = await page.evaluate(() => {
      const a = document.activeElement;
      return a && a.tagName === 'A' && a.closest('#instances') ? a.textContent : null;
    });
    if (on) {
      await page.keyboard.press('Enter');
      await page.locator('h1[data-status]').waitFor();
      const opened = decodeURIComponent(new URL(page.url()).hash.replace('#/instance/', ''));
      if (opened !== on) throw new Error(`Enter on ${on} opened ${opened}`);
      await page.goBack();
      await row(scenario.hello).waitFor();
      return { tabs: i + 1, opened };
    }
  }
  throw new Error('no instance link within 60 Tab presses');
});

await step('filter', async () => {
  await page.fill('input[name="name"]', 'hello_cities');
  await page.press('input[name="name"]', 'Enter');
  await row(scenario.approval).waitFor({ state: 'detached' });
  await row(scenario.hello).waitFor();
  const names = await page.locator('#instances tbody tr td:nth-child(3)').allInnerTexts();
  if (names.some((n) => n !== 'hello_cities')) throw new Error(`rows of other orchestrators: ${names}`);
  await page.fill('input[name="name"]', '');
  await page.press('input[name="name"]', 'Enter');
  await row(scenario.approval).waitFor();
  return { rows: names.length };
});

await step('tags', async () => {
  // The instance started with the tag team=alpha: alone in the list filtered by it, and its
  // page shows the tag.
  if (!scenario.tagged) return null;
  await page.fill('input[name="tags"]', 'team=alpha');
  await page.press('input[name="tags"]', 'Enter');
  await row(scenario.hello).waitFor({ state: 'detached' });
  await row(scenario.tagged).waitFor();
  const rows = await page.locator('#instances tbody tr').count();
  await row(scenario.tagged).locator('a').click();
  await page.locator('h1[data-status="Completed"]').waitFor();
  const shown = await page.locator('dd[data-field="tags"]').innerText();
  await page.goBack();
  await page.fill('input[name="tags"]', '');
  await page.press('input[name="tags"]', 'Enter');
  await row(scenario.hello).waitFor();
  return { rows, shown: shown.trim() };
});

await step('timeline', async () => {
  await row(scenario.hello).locator('a').click();
  await page.locator('h1[data-status="Completed"]').waitFor();
  const steps = page.locator('#timeline g.step[data-kind="activity"] text');
  await steps.first().waitFor();
  const labels = await steps.allTextContents();
  const starts = await page.locator('#timeline g.step[data-kind="activity"] rect')
    .evaluateAll((bars) => bars.map((b) => Number(b.getAttribute('x'))));
  if (starts.some((x, i) => i > 0 && x < starts[i - 1])) throw new Error(`activities out of order: ${starts}`);
  await screenshot(page, 'timeline.png');
  return { labels, starts };
});

await step('big_timeline', async () => {
  // An instance with some ten thousand history events: time from opening its page to its
  // timeline drawn (fetching the history included).
  if (!scenario.big) return null;
  const started = Date.now();
  await page.goto(`${base}/dashboard/#/instance/${encodeURIComponent(scenario.big)}`);
  await page.locator('#timeline[data-steps]').waitFor();
  const ms = Date.now() - started;
  const steps = Number(await page.locator('#timeline').getAttribute('data-steps'));
  const events = Number(await page.locator('dd[data-field="history-events"]').innerText());
  await screenshot(page, 'big-timeline.png');
  return { ms, steps, events };
});

await step('approve', async () => {
  await page.goto(`${base}/dashboard/#/instance/${encodeURIComponent(scenario.approval)}`);
  await page.locator('h1[data-status="Running"]').waitFor();
  await page.fill('#event-name', 'ApprovalEvent');
  await page.fill('#event-body', 'true');
  await page.click('#raise-event button[type=submit]');
  await page.locator('h1[data-status="Completed"]').waitFor();
  const wait = await page.locator('#timeline g.step[data-kind="wait"] text').first().textContent();
  await screenshot(page, 'approval-timeline.png');
  return { result: await page.locator('#action-result').innerText(), wait };
});

await step('terminate', async () => {
  await page.goto(`${base}/dashboard/#/instance/${encodeURIComponent(scenario.terminate)}`);
  await page.locator('h1[data-status="Running"]').waitFor();
  await page.click('button[data-action="terminate"]');
  await page.locator('h1[data-status="Terminated"]').waitFor();
  return true;
});

await step('signal', async () => {
  const { name, key } = scenario.entity;
  await page.goto(`${base}/dashboard/#/entities`);
  const entity = page.locator(`#entities tr[data-entity="${name}@${key}"]`);
  await entity.waitFor();
  const before = await entity.locator('pre').innerText();
  await entity.locator('input[name="operation"]').fill('add');
  await entity.locator('input[name="input"]').fill('5');
  await entity.locator('button[type=submit]').click();
  await page.locator('#signal-result .ok').waitFor();
  await page.waitForFunction(
    ([sel, old]) => { const pre = document.querySelector(sel); return pre && pre.innerText !== old; },
    [`#entities tr[data-entity="${name}@${key}"] pre`, before],
    { timeout: 15000 },
  );
  // The entity's own page reads its state.
  await entity.locator(`a[href="#/entity/${name}/${key}"]`).click();
  await page.locator('#entity-read').filter({ hasText: 'Read at' }).waitFor();
  const read = await page.locator('#entity-state').innerText();
  await page.goBack();
  await entity.waitFor();
  let lockedBy = null;
  if (scenario.locked) {
    const held = page.locator(`#entities tr[data-entity="${name}@${scenario.locked.key}"] td:nth-child(5) a`);
    lockedBy = await held.innerText();
  }
  return { before, after: await entity.locator('pre').innerText(), read, lockedBy };
});

await step('phone', async () => {
  // A phone's width: nothing wider than the screen but the tables, which scroll in place.
  await page.setViewportSize({ width: 390, height: 844 });
  const widths = {};
  for (const [name, hash] of [['list', '#/'], ['instance', `#/instance/${encodeURIComponent(scenario.hello)}`], ['entities', '#/entities']]) {
    await page.goto(`${base}/dashboard/${hash}`);
    await page.locator('main h1').waitFor();
    await page.waitForLoadState('networkidle');
    widths[name] = await page.evaluate(() => document.documentElement.scrollWidth);
    if (widths[name] > 390) throw new Error(`the ${name} page is ${widths[name]} px wide on a 390 px screen`);
    await screenshot(page, `phone-${name}.png`);
  }
  return widths;
});

await browser.close();
if (consoleErrors.length) fail(`console errors:\n${consoleErrors.join('\n')}`);
console.log(JSON.stringify(report));
