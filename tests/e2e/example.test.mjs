// The whole picture, as the README's run command shows it: the example AI hub (built with the
// packed `perfwatch` tarball) served by the example backend, which simulates AI model calls and
// reports its own API and AI calls, and a real collector. A user clicks through the pages in
// headless Chromium; then the collector's API must show the page views, the vitals, the page's
// API calls and interaction, the long task it caused, and the backend's API and AI calls.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, startExampleStack } from './harness.mjs';

let stack;
let collector;
let backend;
let browser;

before(async () => {
  stack = await startExampleStack();
  ({ collector, backend, browser } = stack);
});

after(() => stack?.stop());


test('a visit to the AI hub reaches the collector from the page and from the backend', { timeout: 120_000 }, async (t) => {
  const page = await browser.context.newPage();
  await page.addInitScript({ content: `window.__PERFWATCH_ENDPOINT__ = ${JSON.stringify(collector.url)};` });
  await page.goto(`${backend.url}/`, { waitUntil: 'load' });

  // The model list comes from the backend, timed by monitorApiCall.
  const first = page.locator('[data-testid="models"] a').first();
  await first.waitFor({ timeout: 15_000 });
  const model = await first.getAttribute('data-model');
  await page.keyboard.press('Shift'); // LCP is final at the first input

  // A route change to the chat, three messages to the slow API, and the heavy interaction.
  await first.click();
  await page.getByRole('heading', { name: `Chat with ${model}` }).waitFor();
  const input = page.getByLabel('Message');
  for (const message of ['Hello', 'What can you do?', 'Thanks']) {
    await input.fill(message);
    await page.getByRole('button', { name: 'Send' }).click();
    // Each send ends in a reply or, for the backend's simulated failures, "(no answer: ...)".
    await eventually(
      async () => (await page.locator('[data-from="model"]').count()) >= 1 + ['Hello', 'What can you do?', 'Thanks'].indexOf(message),
      15_000,
      `the answer to ${message}`,
    );
  }
  await page.getByRole('button', { name: 'Summarise history' }).click();
  await page.getByTestId('summary').waitFor();
  await page.getByRole('link', { name: '← All models' }).click();
  await page.locator('[data-testid="models"]').waitFor();
  // Chromium reports each route change as a soft navigation once it has painted the new route;
  // the SDK starts its page views from those. Leave once the browser has seen both, which the
  // SDK must then deliver even when the observer has not been called yet.
  await eventually(
    () => page.evaluate(() => !PerformanceObserver.supportedEntryTypes.includes('soft-navigation')
      || performance.getEntriesByType('soft-navigation').length >= 2),
    15_000,
    'the browser\'s soft navigations to the chat and back',
  );
  // Leaving hides the page: everything queued goes by beacon.
  await page.goto('about:blank');

  let seen;
  const vitals = await eventually(async () => {
    const data = await collector.data('/api/v1/monitoring/frontend/vitals?hours=1');
    seen = {
      vitals: Object.fromEntries(Object.entries(data.vitals).map(([k, v]) => [k, v?.count])),
      api_calls: data.api_calls.map((g) => [g.name, g.count]),
      interactions: data.interactions.map((g) => [g.name, g.count]),
      long_tasks: data.long_tasks.count,
    };
    const named = (list, name) => list.find((g) => g.name === name)?.count ?? 0;
    const ready =
      ['LCP', 'FCP', 'TTFB'].every((m) => data.vitals[m]?.count >= 1) &&
      named(data.api_calls, 'POST /api/chat') === 3 &&
      named(data.api_calls, 'GET /api/models') >= 2 &&
      named(data.interactions, 'summarise-history') === 1 &&
      data.long_tasks.count >= 1;
    return ready && data;
  }, 30_000, 'the page\'s events at the collector').catch((err) => {
    throw new Error(`${err.message}; seen ${JSON.stringify(seen)}`);
  });
  t.diagnostic(`api calls from the page: ${JSON.stringify(vitals.api_calls.map((g) => [g.name, g.count]))}`);

  // The last route change's page view can travel in a batch of its own, after the events above.
  let sessions;
  await eventually(async () => {
    sessions = await collector.data('/api/v1/monitoring/sessions?hours=1');
    return sessions.page_views.total >= 3;
  }, 30_000, 'the page views at the collector').catch(() => {});
  assert.equal(sessions.sessions_started, 1, 'one visit, one session');
  assert.ok(sessions.page_views.total >= 3, `page views: load, chat, back home (${JSON.stringify(sessions.page_views)})`);

  // Every page view is named by the route the app gave (usePageViewRoute), also those the
  // browser reported as soft navigations after the app had named the new route.
  const byPage = await collector.data('/api/v1/monitoring/frontend/vitals?hours=1&group_by=page');
  assert.deepEqual(
    byPage.pages.map((p) => p.page).sort(),
    ['/', '/chat/:model'],
    `pages by route: ${JSON.stringify(byPage.pages.map((p) => [p.page, p.page_views]))}`,
  );

  // The backend's own records of the same requests, and the model calls behind the chat.
  const backendCalls = await eventually(async () => {
    const stats = await collector.data('/api/v1/monitoring/api/stats?hours=1&group_by=endpoint');
    const chat = stats.groups?.find((g) => g.key.includes('/api/chat'));
    return chat?.count === 3 && stats;
  }, 30_000, 'the backend\'s API calls at the collector');
  t.diagnostic(`backend api calls: ${JSON.stringify(backendCalls.groups.map((g) => [g.key, g.count]))}`);
  const ai = await eventually(async () => {
    const stats = await collector.data(`/api/v1/monitoring/ai/stats?hours=1&group_by=model`);
    return stats.total_calls === 3 && stats;
  }, 30_000, 'the AI calls at the collector');
  assert.ok(ai.groups.some((g) => g.key === model), `calls to ${model}: ${JSON.stringify(ai.groups)}`);
  assert.ok(ai.tokens.input > 0 && ai.tokens.output > 0, `tokens counted: ${JSON.stringify(ai.tokens)}`);
});
