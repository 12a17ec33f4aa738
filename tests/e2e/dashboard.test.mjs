// The collector's own dashboard page (`GET /`, the PerformanceDashboard component embedded in
// the collector's binary) in headless Chromium, over a real collector filled by the example
// backend and a browser visit to the example app: the page loads without console errors, every
// card shows a number the API answers, the charts draw, the range selector changes the
// requests, axe-core finds no WCAG 2.1 A/AA violation, keyboard focus reaches the controls, the
// layout fits a laptop and a phone (screenshots saved under tests/output/), and
// with read tokens configured the page asks for one and sends it as a Bearer token.
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, root, startCollector, startExampleStack, stopCleanly } from './harness.mjs';

const OUTPUT = join(root, 'tests/output');
const SECRET = 'e2e-read-secret-0123';

let stack;
let collector;
let backend;
let browser;

before(async () => {
  stack = await startExampleStack();
  ({ collector, backend, browser } = stack);
  await mkdir(OUTPUT, { recursive: true });
});

after(() => stack?.stop());


/** A visit to the example app (page load, the chat, one message), then a chat with every model from a script. */
async function fillCollector() {
  const page = await browser.context.newPage();
  await page.addInitScript({ content: `window.__PERFWATCH_ENDPOINT__ = ${JSON.stringify(collector.url)};` });
  await page.goto(`${backend.url}/`, { waitUntil: 'load' });
  const first = page.locator('[data-testid="models"] a').first();
  await first.waitFor({ timeout: 15_000 });
  await page.keyboard.press('Shift');
  await first.click();
  await page.getByLabel('Message').fill('Hello');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('[data-from="model"]').first().waitFor({ timeout: 15_000 });
  await page.goto('about:blank');
  await page.close();
  const models = await (await fetch(`${backend.url}/api/models`)).json();
  for (const model of models) {
    await fetch(`${backend.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: model.id, message: 'How fast are you?' }),
    });
  }
  await eventually(async () => {
    const d = await collector.data('/api/v1/monitoring/dashboard?hours=1');
    // One model call per chat message: the page's and the script's.
    return d.ai_statistics.total_calls === models.length + 1 && d.frontend_vitals.vitals.LCP.count >= 1 && d.system_overview.current;
  }, 30_000, 'the visit and the AI calls at the collector');
}

/** Opens the dashboard at `width`x`height`, recording console errors and API requests. */
async function openDashboard(width, height, { path = '/' } = {}) {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width, height });
  const problems = [];
  const requests = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('request', (r) => {
    if (r.url().includes('/api/v1/')) requests.push({ url: r.url(), authorization: r.headers().authorization });
  });
  await page.goto(new URL(path, collector.url).href, { waitUntil: 'load' });
  return { page, problems, requests };
}

/** The card figures on `page`: `{ card, metric, value, text }`. */
const figures = (page) =>
  page.$$eval('[data-testid^="card-"] [data-metric]', (nodes) =>
    nodes.map((n) => ({
      card: n.closest('[data-testid]').dataset.testid,
      metric: n.dataset.metric,
      value: n.dataset.value,
      text: n.textContent,
    })),
  );

test('the dashboard page shows the collector\'s numbers, charts and tables', { timeout: 120_000 }, async (t) => {
  await fillCollector();
  const { page, problems, requests } = await openDashboard(1280, 800);
  await page.getByTestId('card-ai').waitFor({ timeout: 15_000 });
  await page.getByRole('heading', { name: 'perfwatch', level: 2 }).waitFor();

  // Every card figure holds a number (the status a word), shown, not a dash.
  const shown = await figures(page);
  t.diagnostic(`cards: ${JSON.stringify(shown.map((f) => [f.metric, f.value]))}`);
  assert.ok(shown.length >= 18, `figures on the cards: ${shown.length}`);
  for (const f of shown) {
    if (f.metric === 'status') {
      assert.match(f.value, /^(healthy|warning|critical)$/, `${f.card} status`);
    } else {
      assert.ok(f.value !== '' && Number.isFinite(Number(f.value)), `${f.card} ${f.metric} has a number: ${JSON.stringify(f)}`);
    }
    assert.doesNotMatch(f.text, /^–/, `${f.card} ${f.metric} is shown: ${JSON.stringify(f)}`);
  }
  // The ones that do not move by themselves equal the API's answer (the host's and the
  // request rate do: the dashboard's own requests are API calls of the collector).
  const d = await collector.data('/api/v1/monitoring/dashboard?hours=1');
  const value = (metric) => shown.find((f) => f.metric === metric)?.value;
  assert.equal(Number(value('sessions_started')), d.sessions.sessions_started, 'sessions started');
  assert.equal(Number(value('page_views')), d.frontend_vitals.page_views, 'page views');
  assert.equal(Number(value('LCP')), d.frontend_vitals.vitals.LCP.p75, 'LCP p75');
  assert.equal(Number(value('CLS')), d.frontend_vitals.vitals.CLS.p75, 'CLS p75');
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  const today = await collector.data(`/api/v1/monitoring/ai/stats?from=${encodeURIComponent(midnight.toISOString())}`);
  assert.equal(Number(value('total_calls')), today.total_calls, 'AI calls today');
  assert.equal(Number(value('cost_usd')), today.cost.cost_usd, 'AI cost today');

  // The charts drew: a canvas in each one that has data, and the tables have rows.
  await eventually(() => page.locator('.pw-plot canvas').count().then((n) => n >= 5), 10_000, 'the charts\' canvases');
  const charts = await page.$$eval('.pw-chart h3', (hs) => hs.map((h) => h.textContent));
  t.diagnostic(`charts: ${JSON.stringify(charts)}`);
  for (const title of ['CPU and memory', 'API latency', 'API error rate', 'AI cost by model', 'LCP p75', 'INP p75', 'CLS p75']) {
    assert.ok(charts.includes(title), `chart ${title}`);
  }
  const aiChart = page.locator('.pw-chart', { has: page.getByRole('heading', { name: 'AI cost by model' }) });
  assert.ok((await aiChart.locator('canvas').count()) >= 1, 'the AI cost chart drew');
  for (const table of ['table-endpoints', 'table-models', 'table-users', 'table-pages']) {
    const rows = await page.getByTestId(table).locator('tbody tr').count();
    assert.ok(rows >= 1, `${table} has rows`);
  }
  const models = await page.getByTestId('table-models').locator('tbody th').allTextContents();
  const byModel = await collector.data('/api/v1/monitoring/ai/stats?hours=1&group_by=model');
  assert.deepEqual(new Set(models), new Set(byModel.groups.map((g) => g.key)), 'the models the API lists');

  // Accessible as axe-core (the engine behind Lighthouse's accessibility audit) checks WCAG 2
  // A and AA: headings, labels, names, contrast, landmarks inside the component.
  await page.evaluate(await readFile(join(root, 'tests/node_modules/axe-core/axe.min.js'), 'utf8'));
  const audit = await page.evaluate(() =>
    window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }),
  );
  const violations = audit.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(violations, [], 'axe-core finds no WCAG 2.1 A/AA violation');

  // Reachable by keyboard: the first stops are the range selector and the refresh button.
  const focused = () =>
    page.evaluate(() => {
      const e = document.activeElement;
      return `${e?.tagName} ${(e?.closest('label') ?? e)?.textContent?.trim().split('\n')[0]}`;
    });
  await page.keyboard.press('Tab');
  assert.match(await focused(), /^SELECT Time range/, 'Tab reaches the range selector');
  await page.keyboard.press('Tab');
  assert.equal(await focused(), 'BUTTON Refresh', 'then the refresh button');
  await page.screenshot({ path: join(OUTPUT, 'dashboard-1280x800.png'), fullPage: false });

  // The range selector changes what is asked.
  requests.length = 0;
  await page.evaluate(() => { window.firstChart = document.querySelector('.pw-plot canvas'); });
  await page.getByLabel('Time range').selectOption({ label: 'Last 6 hours' });
  await eventually(() => requests.some((r) => r.url.includes('/dashboard?hours=6')), 10_000, 'a request for 6 hours');
  // (The status keeps the last "Updated" while loading: the busy flag says when it ends.)
  await eventually(() => page.locator('.pw-dashboard[aria-busy="false"]').count().then((n) => n === 1), 10_000, 'the refresh to end');
  assert.ok(
    await page.evaluate(() => window.firstChart?.isConnected === true),
    'a new window updates the charts in place (they are not drawn anew)',
  );
  const urls = requests.map((r) => new URL(r.url));
  t.diagnostic(`after choosing 6 hours: ${JSON.stringify(urls.map((u) => u.pathname + u.search))}`);
  for (const [path, param, expected] of [
    ['/api/v1/monitoring/dashboard', 'hours', '6'],
    ['/api/v1/monitoring/timeseries', 'hours', '6'],
    ['/api/v1/monitoring/frontend/vitals', 'hours', '6'],
    ['/api/v1/monitoring/system/metrics', 'minutes', '360'],
  ]) {
    assert.ok(urls.some((u) => u.pathname === path && u.searchParams.get(param) === expected), `${path}?${param}=${expected}`);
  }
  assert.ok(!urls.some((u) => u.searchParams.get('hours') === '1'), 'nothing asked for the old range');
  // The page keeps the range in its URL: a reload shows the same one.
  assert.equal(new URL(page.url()).searchParams.get('hours'), '6');
  await page.reload({ waitUntil: 'load' });
  await page.getByTestId('card-ai').waitFor({ timeout: 15_000 });
  assert.equal(await page.getByLabel('Time range').inputValue(), '6', 'the range after a reload');

  assert.deepEqual(problems, [], 'no console errors or warnings');
  await page.close();
});

test('the dashboard fits a phone', { timeout: 60_000 }, async () => {
  const { page, problems } = await openDashboard(390, 844);
  await page.getByTestId('card-ai').waitFor({ timeout: 15_000 });
  await eventually(() => page.locator('.pw-plot canvas').count().then((n) => n >= 5), 10_000, 'the charts\' canvases');
  // Nothing wider than the screen: tables scroll inside their own boxes.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(overflow, 0, 'no horizontal scrolling of the page');
  const cards = await page.$$eval('[data-testid^="card-"]', (nodes) => nodes.map((n) => n.getBoundingClientRect().right));
  assert.ok(cards.every((right) => right <= 390), `cards within the screen: ${cards}`);
  await page.screenshot({ path: join(OUTPUT, 'dashboard-390x844.png'), fullPage: false });
  assert.deepEqual(problems, [], 'no console errors or warnings');
  await page.close();
});

test('with read tokens configured, the page asks for one and sends it as a Bearer token', { timeout: 60_000 }, async () => {
  const guarded = await startCollector({ env: { PERFWATCH_READ_TOKENS: `dashboard:${SECRET}` } });
  try {
    const page = await browser.context.newPage();
    const requests = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/')) requests.push(r.headers().authorization);
    });
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${guarded.url}/`, { waitUntil: 'load' });
    await page.getByRole('heading', { name: 'Read token needed' }).waitFor({ timeout: 15_000 });
    assert.match(await page.getByRole('alert').first().textContent(), /needs a read token/);

    await page.getByLabel('Read token', { exact: true }).fill('not-the-secret-at-all');
    await page.getByRole('button', { name: 'Show the dashboard' }).click();
    await page.getByText(/rejected the read token/).waitFor({ timeout: 10_000 });

    await page.getByLabel('Read token', { exact: true }).fill(SECRET);
    await page.getByRole('button', { name: 'Show the dashboard' }).click();
    await page.getByTestId('card-system').waitFor({ timeout: 15_000 });
    assert.equal(requests.at(-1), `Bearer ${SECRET}`, 'the token goes as a Bearer token');
    assert.deepEqual(problems, []);

    // The page itself needs no token; the API does.
    assert.equal((await fetch(`${guarded.url}/`)).status, 200);
    assert.equal((await fetch(`${guarded.url}/api/v1/monitoring/dashboard?hours=1`)).status, 401);
    await page.close();
  } finally {
    await stopCleanly(guarded);
  }
});
