// A web vital from a real browser reaches the collector's API: the example app, built with the
// packed `perfwatch` tarball, runs in headless Chromium next to web-vitals 6 on the same page
// load; the values perfwatch hands to `onMetric` must match web-vitals', and the collector must
// then report them.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, launchChromium, root, serveStatic, startCollector, stopCleanly } from './harness.mjs';

const require = createRequire(import.meta.url);
const VITALS = ['FCP', 'LCP', 'TTFB'];

let collector;
let site;
let browser;

before(async () => {
  collector = await startCollector();
  site = await serveStatic(join(root, 'examples/react-app/dist'));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await stopCleanly(collector);
});

/** web-vitals' IIFE build, recording what it reports into `window.__webVitals`. */
async function webVitalsScript(endpoint) {
  // The package's `exports` map hides the IIFE build; it sits next to the main entry in dist/.
  const dist = dirname(require.resolve('web-vitals'));
  const iife = await readFile(join(dist, 'web-vitals.iife.js'), 'utf8');
  return `${iife}
    window.__PERFWATCH_ENDPOINT__ = ${JSON.stringify(endpoint)};
    window.__webVitals = {};
    // Chrome emits no LCP entry for a paint whose entry is still pending at the first input, so
    // the test presses its key only once an entry exists (web-vitals and perfwatch alike would
    // otherwise have no LCP to report).
    window.__lcpEntries = 0;
    new PerformanceObserver((list) => { window.__lcpEntries += list.getEntries().length; })
      .observe({ type: 'largest-contentful-paint', buffered: true });
    for (const name of ${JSON.stringify(VITALS)}) {
      webVitals['on' + name]((m) => { window.__webVitals[m.name] = m.value; });
    }`;
}

/** The metrics the example app received through `onMetric`, from what it renders. */
function perfwatchMetrics(page) {
  return page.$$eval('[data-testid="vitals"] li', (items) =>
    Object.fromEntries(items.map((li) => [li.dataset.name, Number(li.dataset.value)])),
  );
}

test('FCP, LCP and TTFB match web-vitals on the same load and reach the collector', async (t) => {
  const page = await browser.context.newPage();
  await page.addInitScript({ content: await webVitalsScript(collector.url) });
  await page.goto(site.url, { waitUntil: 'load' });

  // FCP and TTFB are reported by themselves; LCP is final at the first trusted input.
  await eventually(async () => {
    const [ours, theirs] = [await perfwatchMetrics(page), await page.evaluate(() => window.__webVitals)];
    return ours.FCP !== undefined && ours.TTFB !== undefined && theirs.FCP !== undefined && theirs.TTFB !== undefined;
  }, 15_000, 'FCP and TTFB');
  await eventually(() => page.evaluate(() => window.__lcpEntries > 0), 15_000, 'an LCP entry');
  await page.keyboard.press('Shift');
  const [ours, theirs] = await eventually(async () => {
    const pair = [await perfwatchMetrics(page), await page.evaluate(() => window.__webVitals)];
    return VITALS.every((name) => pair[0][name] !== undefined && pair[1][name] !== undefined) && pair;
  }, 15_000, 'LCP after a key press');

  t.diagnostic(`perfwatch ${JSON.stringify(ours)}; web-vitals ${JSON.stringify(theirs)}`);
  for (const name of VITALS) {
    assert.ok(theirs[name] > 0, `web-vitals measured ${name} (${theirs[name]})`);
    assert.ok(
      Math.abs(ours[name] - theirs[name]) <= 1,
      `${name}: perfwatch ${ours[name]} vs web-vitals ${theirs[name]}`,
    );
  }

  // What the page loaded, without query strings (the SDK drops them).
  const loaded = await page.evaluate(() =>
    performance.getEntriesByType('resource').map((r) => r.name.split(/[?#]/)[0]),
  );
  // Leaving the page hides it: the SDK sends its batch with sendBeacon.
  await page.goto('about:blank');
  const vitals = await eventually(async () => {
    const { status, body } = await collector.api('/api/v1/monitoring/frontend/vitals?hours=1');
    assert.equal(status, 200);
    const v = body.data.vitals;
    return VITALS.every((name) => v[name]?.count === 1) && v;
  }, 15_000, 'the collector to report the vitals');

  t.diagnostic(`collector ${JSON.stringify(vitals)}`);
  // The page's resources came with the vitals; the SDK's own beacons are not among them.
  const { body: report } = await collector.api('/api/v1/monitoring/frontend/vitals?hours=1');
  const resources = report.data.resources.slowest;
  t.diagnostic(`resources ${JSON.stringify(resources.map((r) => [r.name, r.initiator_type, r.count]))}`);
  assert.ok(resources.length > 0, 'resources reach the collector');
  for (const r of resources) {
    assert.ok(!r.name.startsWith(collector.url), `the SDK does not report its own requests: ${r.name}`);
    assert.ok(loaded.includes(r.name), `${r.name} is one of the page's resources`);
  }
  for (const name of VITALS) {
    // One page view: the p75 is that page view's value, stored as a 64-bit float.
    assert.equal(vitals[name].p75, ours[name], `${name} p75 at the collector`);
  }

  // The visit is one session of one page view, active now.
  const { body } = await collector.api('/api/v1/monitoring/sessions?hours=1');
  const sessions = body.data;
  t.diagnostic(`sessions ${JSON.stringify(sessions)}`);
  assert.equal(sessions.sessions_started, 1);
  assert.equal(sessions.page_views.total, 1);
  assert.equal(sessions.active_users.sessions, 1);
  assert.ok(sessions.duration_ms.max > 0, 'from the page load to the batch sent on leaving');
  await page.close();
});
