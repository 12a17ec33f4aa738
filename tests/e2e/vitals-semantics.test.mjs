// perfwatch's web vitals against web-vitals 6.2.3, scenario by scenario, on the same page load.
//
// Every page under pages/ loads both libraries (record.js, perfwatch.js): web-vitals' attribution
// IIFE build as the reference, and the built npm package from /pw/. Both report into the same
// record, which reaches this test through the page (`window.__e2e`) and, with sendBeacon, the
// test server's /sink, so that what a page reports while it is being left is read afterwards.
// The expected value is always what web-vitals reported on that load; nothing is hard-coded.
// For every metric instance web-vitals reported (one per metric id: a bfcache restore or a soft
// navigation starts new ones), perfwatch must report one with the same final value, rating,
// navigationType and attribution. Pages are left with real navigations (trusted lifecycle
// events); input is Playwright's mouse and keyboard (trusted events).
//
// `PERFWATCH_E2E_STAND_IN=web-vitals` checks the test itself: a second registration of web-vitals
// takes perfwatch's place on every page, and every test must then pass.
//
// How the harder scenarios are produced in headless Chromium 156:
// - bfcache: Playwright launches Chromium with --disable-back-forward-cache; `launchBrowser({
//   bfcache: true })` drops that default argument. The page has no unload handler and no
//   `Cache-Control: no-store`; `goBack({ waitUntil: 'commit' })` (a restore fires no load event),
//   and the page records `pageshow` with `persisted === true` to prove where it came from.
// - background tab and prerender: under Playwright every tab of headless Chromium is visible (it
//   enables focus emulation on each page it attaches to, which counts as a capturer, and it
//   attaches to every page), and Chromium does not prerender while DevTools auto-attaches
//   (PrerenderingDisabledByDevTools). Both scenarios therefore run in a second Chromium, driven
//   over --remote-debugging-pipe at the browser level only (`rawTabs`), and read their records
//   from /sink. Background tab: `Target.createTarget({ background: true })` beside a blank
//   foreground tab; the page starts with visibilityState 'hidden' (and a 'hidden'
//   visibility-state entry at 0), stays hidden through load, is shown (`Target.activateTarget`),
//   paints, and is hidden again by activating the blank tab. Without input, hiding is what
//   finalises LCP there and in the prerender scenario.
// - soft navigation: Chromium 156 ships it: `PerformanceObserver.supportedEntryTypes` includes
//   'soft-navigation' and `PerformanceSoftNavigation.prototype.getLargestInteractionContentfulPaint`
//   is a function without any flag (the test checks both), so web-vitals with
//   `{reportSoftNavs: true}` reports TTFB, FCP, LCP, CLS and INP again with navigationType
//   'soft-navigation' after a trusted click whose handler pushes a URL and replaces <main>.
// - early input: the package's JS loads at once and its wasm module 2 s later (`wasmDelays`);
//   two clicks land in between. The slow one's Event Timing entry is under 104 ms, which the
//   browser does not keep for later observers: only the package's early buffer can see it.
// - route change without soft navigations: an init script hides 'soft-navigation' from
//   `PerformanceObserver.supportedEntryTypes` for both libraries (as in Firefox or Safari);
//   web-vitals reports the load's metrics only, and perfwatch starts a page view from the
//   history API (checked at the collector).
// - prerender: the referring page (in `rawTabs`) inserts speculation rules, waits until perfwatch
//   has started in the prerendered page, then navigates to it, which activates it.
// - INP target of a removed element: `entry.target` is null once the node left the DOM, and
//   web-vitals then falls back to `PerformanceEventTiming.targetSelector`, which Chromium 156
//   has only behind `--enable-blink-features=EventTimingTargetSelector` (without it web-vitals
//   reports no interactionTarget at all); the browser is launched with it. A second INP test
//   runs stock Chromium, where perfwatch names the element from the click's start and
//   web-vitals names none.
// - INP is processed in an idle callback; a page hidden before that callback reports the stale
//   value (web-vitals' own behaviour), so tests wait for the interactions' Event Timing entries
//   and two idle periods (`settle`) before leaving.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, launchBrowser, launchRawChromium, root, serveSite, startCollector, stopCleanly } from './harness.mjs';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

const METRICS = ['TTFB', 'FCP', 'LCP', 'CLS', 'INP'];
/** How far perfwatch's final value may be from web-vitals'. */
const TOLERANCE = { TTFB: 1, FCP: 1, LCP: 1, CLS: 0.0001, INP: 0 };
/**
 * After a bfcache restore FCP and LCP are `performance.now() - pageshow.timeStamp` two frames
 * later, read by each library in its own callback.
 */
const BFCACHE_TOLERANCE = { TTFB: 5, FCP: 5, LCP: 5, CLS: 0.0001, INP: 0 };
/** The attribution fields both must agree on; numbers within 1 ms (shift values like CLS). */
const ATTRIBUTION = {
  LCP: ['target', 'url', 'timeToFirstByte', 'resourceLoadDelay', 'resourceLoadDuration', 'elementRenderDelay'],
  INP: ['interactionTarget', 'interactionType', 'interactionTime', 'inputDelay', 'processingDuration', 'presentationDelay'],
  CLS: ['largestShiftTarget', 'largestShiftTime', 'largestShiftValue'],
};
const WAIT = 15_000;
/** So that web-vitals can name an INP target removed from the DOM (see above). */
const BROWSER_ARGS = ['--enable-blink-features=EventTimingTargetSelector'];
/** Options of each scenario test: a hung browser fails the test instead of the run. */
const SCENARIO = { timeout: 90_000 };

let collector;
let site;
let browser;

before(async () => {
  collector = await startCollector();
  site = await serveSite({
    mounts: {
      '/pages/': join(here, 'pages'),
      '/pw/': join(root, 'npm'),
      '/pw-slow/': join(root, 'npm'),
      // The package's `exports` map hides the IIFE builds; they sit next to the main entry.
      '/wv/': dirname(require.resolve('web-vitals')),
    },
    wasmDelays: { '/pw-slow/': 2000 },
    config: { collector: collector.url, standIn: process.env.PERFWATCH_E2E_STAND_IN },
  });
  browser = await launchBrowser({ bfcache: true, args: BROWSER_ARGS });
});

after(async () => {
  await browser?.close();
  await site?.close();
  await stopCleanly(collector);
});

// ---------------------------------------------------------------------------------------------
// Driving a page

const pageUrl = (name, run) => `${site.url}pages/${name}.html?run=${run}`;

/**
 * Opens a scenario page in a fresh context of `on` (the shared browser by default), with
 * `initScript` run before the page's own, and waits until perfwatch has started unless
 * `waitForStart` is false.
 */
async function open(t, name, { on = browser, initScript, waitForStart = true } = {}) {
  const context = await on.newContext();
  t.after(() => context.close());
  if (initScript) await context.addInitScript(initScript);
  const page = await context.newPage();
  const run = randomUUID();
  await page.goto(pageUrl(name, run), { waitUntil: 'load' });
  if (waitForStart) await pageEvent(page, 'pw-ready|pw-error');
  return { page, run };
}

/** Waits until the page recorded an event named `name` (alternatives split by `|`). */
async function pageEvent(page, name, count = 1) {
  await page.waitForFunction(
    ([names, n]) => window.__e2e?.events.filter((e) => names.includes(e.name)).length >= n,
    [name.split('|'), count],
    { timeout: WAIT },
  );
}

/** Waits until Chrome emitted an LCP entry whose URL contains `url` ('' for a text paint). */
async function lcpEntry(page, url = '') {
  await page.waitForFunction((u) => window.__e2e.lcp.some((e) => e.url.includes(u)), url, { timeout: WAIT });
}

/** A trusted click in the middle of the element `selector`. */
async function click(page, selector) {
  const box = await page.locator(selector).boundingBox();
  assert.ok(box, `${selector} is on the page`);
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
}

/**
 * Waits until the page has seen the Event Timing entries of `n` interactions (of 16 ms or more,
 * or the first input), then for two idle callbacks queued the way web-vitals queues its INP work
 * (`whenIdleOrHidden`: capped at 1 s, as headless Chromium may run no idle period for long after
 * an input), so that both libraries have processed them before the page is hidden.
 */
async function settle(page, n) {
  await page.waitForFunction((count) => __e2e.interactions.length >= count, n, { timeout: WAIT });
  await page.evaluate(
    () => new Promise((r) => requestIdleCallback(() => requestIdleCallback(r, { timeout: 1000 }), { timeout: 1000 })),
  );
}

/**
 * Tabs of a Chromium that no DevTools session is attached to (harness `launchRawChromium`), all in
 * one window: `front` is a blank tab opened first, `tab(url, { background })` opens another one,
 * `activate(targetId)` brings a tab to the front, hiding the others. Their records come from /sink.
 */
async function rawTabs(t) {
  const raw = await launchRawChromium({ args: BROWSER_ARGS });
  t.after(() => raw.close());
  const create = async (params) => (await raw.send('Target.createTarget', params)).targetId;
  const front = await create({ url: 'about:blank' });
  return {
    front,
    tab: (url, { background = false } = {}) => create({ url, ...(background && { background }) }),
    activate: (targetId) => raw.send('Target.activateTarget', { targetId }),
  };
}

/**
 * Leaves the page with a real navigation (hidden, then unloaded or stored in the bfcache) and
 * returns everything its document recorded, once the beacons sent on the way out arrived.
 */
async function leave(page, run) {
  const { doc, hidden, left } = await page.evaluate(() => ({
    doc: __e2e.doc,
    hidden: __e2e.events.filter((e) => e.name === 'hidden').length,
    left: __e2e.events.filter((e) => e.name === 'left').length,
  }));
  await page.goto(`${site.url}pages/blank.html`);
  return settled(run, doc, (r) => names(r.events, 'hidden').length > hidden && names(r.events, 'left').length > left);
}

/**
 * What one document of `run` recorded, in its own order, once `done(record)` holds and no
 * beacon before the last one is still missing.
 */
function settled(run, doc, done, what = 'the page to report') {
  return eventually(() => {
    const records = site.records(run).filter((r) => doc === undefined || r.doc === doc);
    records.sort((a, b) => a.seq - b.seq);
    if (records.some((r, i) => r.seq !== i)) return false;
    const record = {
      doc: records[0]?.doc,
      wv: records.filter((r) => r.kind === 'wv').map((r) => r.data),
      pw: records.filter((r) => r.kind === 'pw').map((r) => r.data),
      events: records.filter((r) => r.kind === 'event').map((r) => ({ ...r.data, page: r.page })),
    };
    return records.length > 0 && done(record) && record;
  }, WAIT, what);
}

// ---------------------------------------------------------------------------------------------
// Comparing the two libraries

/** The final report of every metric instance (one per id), by name, in order of appearance. */
function instances(reports) {
  const byId = new Map();
  for (const report of reports) byId.set(report.id, report); // insertion order: first report
  const byName = {};
  for (const report of byId.values()) (byName[report.name] ??= []).push(report);
  return byName;
}

const show = (m) =>
  m && `${m.value} ${m.rating} ${m.navigationType}${m.attribution ? ` ${JSON.stringify(pick(m.attribution, ATTRIBUTION[m.name] ?? []))}` : ''}`;

function pick(object, keys) {
  return Object.fromEntries(keys.map((k) => [k, object?.[k]]));
}

/**
 * Asserts that perfwatch reported what web-vitals reported, instance by instance; every
 * difference is listed in one failure.
 */
function assertSameVitals(t, record, { except = [] } = {}) {
  const theirs = instances(record.wv);
  const ours = instances(record.pw);
  for (const name of METRICS) {
    t.diagnostic(
      `${name}: web-vitals [${(theirs[name] ?? []).map(show).join(' | ')}]; ` +
        `perfwatch [${(ours[name] ?? []).map(show).join(' | ')}]`,
    );
  }
  const problems = [];
  const pwError = record.events.find((e) => e.name === 'pw-error');
  if (pwError) problems.push(`perfwatch failed to start: ${pwError.message}`);
  for (const name of METRICS) {
    const expected = theirs[name] ?? [];
    const actual = ours[name] ?? [];
    if (actual.length !== expected.length) {
      problems.push(
        `${name}: perfwatch reported ${actual.length} instance(s) ` +
          `[${actual.map((m) => m.navigationType).join(', ')}], web-vitals ${expected.length} ` +
          `[${expected.map((m) => m.navigationType).join(', ')}]`,
      );
    }
    expected.forEach((want, i) => {
      const got = actual[i];
      if (got) {
        const label = `${name}#${i} (${want.navigationType})`;
        problems.push(
          ...differences(want, got, label).filter((p) => !except.some((key) => p.startsWith(`${label} attribution.${key}:`))),
        );
      }
    });
  }
  assert.deepEqual(problems, [], `perfwatch differs from web-vitals:\n  ${problems.join('\n  ')}`);
}

/** How perfwatch's final report `got` differs from web-vitals' `want`, as readable lines. */
function differences(want, got, label) {
  const tolerance = (want.navigationType === 'back-forward-cache' ? BFCACHE_TOLERANCE : TOLERANCE)[want.name];
  const out = [];
  if (!(Math.abs(got.value - want.value) <= tolerance)) {
    out.push(`${label} value: perfwatch ${got.value}, web-vitals ${want.value} (tolerance ${tolerance})`);
  }
  for (const key of ['rating', 'navigationType']) {
    if (got[key] !== want[key]) out.push(`${label} ${key}: perfwatch ${got[key]}, web-vitals ${want[key]}`);
  }
  for (const key of ATTRIBUTION[want.name] ?? []) {
    const w = want.attribution?.[key];
    const g = got.attribution?.[key];
    // Durations within 1 ms (or the value's own tolerance, which LCP's render delay inherits
    // after a bfcache restore); shift scores like CLS.
    const slack = key === 'largestShiftValue' ? TOLERANCE.CLS : Math.max(1, tolerance);
    const same = typeof w === 'number' && typeof g === 'number' ? Math.abs(g - w) <= slack : g === w;
    if (!same) {
      out.push(`${label} attribution.${key}: perfwatch ${JSON.stringify(g)}, web-vitals ${JSON.stringify(w)}`);
    }
  }
  return out;
}

const names = (events, name) => events.filter((e) => e.name === name);
/** perfwatch's `init` settled, one way or the other. */
const started = (record) => record.events.some((e) => e.name === 'pw-ready' || e.name === 'pw-error');

// ---------------------------------------------------------------------------------------------
// Scenarios

test('LCP: an image answered late replaces an earlier text paint', SCENARIO, async (t) => {
  const { page, run } = await open(t, 'lcp-image');
  await pageEvent(page, 'hero-loaded');
  await lcpEntry(page, '/slow.png');
  await page.keyboard.press('Shift'); // trusted input: LCP is final
  await settle(page, 1);
  const record = await leave(page, run);

  // The scenario itself: the headline was the first LCP candidate, web-vitals' LCP is the image.
  assert.equal(names(record.events, 'lcp')[0]?.url, '', 'a text paint came first');
  const theirs = instances(record.wv);
  assert.match(theirs.LCP?.[0]?.attribution?.url ?? '', /\/slow\.png/, 'the LCP element is the image');
  assertSameVitals(t, record);
});

test('CLS: the larger of two session windows; a shift right after a click does not count', SCENARIO, async (t) => {
  const { page, run } = await open(t, 'cls');
  await pageEvent(page, 'shifts-done');
  await click(page, '#more');
  await pageEvent(page, 'clicked-more');
  await settle(page, 1);
  const record = await leave(page, run);

  // The scenario itself: shifts in two windows and one right after the click.
  const shifts = names(record.events, 'layout-shift');
  t.diagnostic(`layout shifts ${JSON.stringify(shifts.map((s) => [s.startTime, s.value, s.hadRecentInput]))}`);
  const unexpected = shifts.filter((s) => !s.hadRecentInput);
  assert.ok(shifts.some((s) => s.hadRecentInput), 'a shift right after the click');
  const cls = instances(record.wv).CLS?.[0]?.value;
  const total = unexpected.reduce((sum, s) => sum + s.value, 0);
  assert.ok(cls > 0 && cls < total, `web-vitals' CLS ${cls} is one window of the shifts (${total} in all)`);
  assertSameVitals(t, record);
});

test('long tasks: three blocks of the main thread', SCENARIO, async (t) => {
  const since = Date.now();
  const { page, run } = await open(t, 'longtasks');
  await pageEvent(page, 'blocks-done');
  await lcpEntry(page);
  await page.keyboard.press('Shift');
  await settle(page, 1);
  const record = await leave(page, run);

  // For perfwatch's later long-task events: what Chrome reported, and that each block is in it.
  const blocks = names(record.events, 'block');
  const longtasks = names(record.events, 'longtask');
  t.diagnostic(`blocks ${JSON.stringify(blocks.map((b) => [b.start, b.end]))}`);
  t.diagnostic(`longtask entries ${JSON.stringify(longtasks.map((l) => [l.startTime, l.duration]))}`);
  assert.equal(blocks.length, 3);
  for (const block of blocks) {
    assert.ok(
      // Long task durations are whole milliseconds: 1 ms of rounding.
      longtasks.some((l) => l.startTime <= block.start && block.end <= l.startTime + l.duration + 1),
      `a longtask entry covers block ${block.index}`,
    );
  }
  assertSameVitals(t, record);

  // perfwatch sent each long task the page saw, and the frames they made, to the collector (the
  // window holds this page's events only: events are dated by when they happened).
  const window = `from=${since}&to=${Date.now() + 1000}`;
  const entries = await eventually(async () => {
    const { body } = await collector.api(`/api/v1/monitoring/frontend/vitals?${window}`);
    return body.data.long_tasks.count >= longtasks.length && body.data;
  }, WAIT, 'the long tasks at the collector');
  t.diagnostic(`collector ${JSON.stringify({ long_tasks: entries.long_tasks, frames: entries.long_animation_frames.count })}`);
  assert.equal(entries.long_tasks.count, longtasks.length, 'one long_task event per longtask entry');
  assert.equal(entries.long_tasks.duration_ms.max, Math.max(...longtasks.map((l) => l.duration)));
  assert.ok(entries.long_animation_frames.count >= blocks.length, 'a long animation frame per block at least');
});

/** Clicks each of inp.html's buttons once, then types into its field, and leaves the page. */
async function slowInteractions(page, run) {
  await lcpEntry(page);
  // Where each button is, before any click changes the page.
  const buttons = await page.$$eval('#buttons button', (all) =>
    all.map((b) => {
      const r = b.getBoundingClientRect();
      return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
    }),
  );
  for (const [i, { x, y }] of buttons.entries()) {
    await page.mouse.click(x, y);
    await pageEvent(page, 'clicked', i + 1);
  }
  await page.focus('#field'); // programmatic focus: no interaction of its own
  await page.keyboard.press('a');
  await pageEvent(page, 'typed');
  await settle(page, buttons.length + 1);
  return leave(page, run);
}

test('INP: the slowest of several slow interactions, its element removed by its handler', SCENARIO, async (t) => {
  const { page, run } = await open(t, 'inp');
  const record = await slowInteractions(page, run);

  const inp = instances(record.wv).INP?.[0];
  assert.equal(inp?.attribution?.interactionType, 'pointer', 'the slowest interaction is a click');
  assert.ok(inp.attribution.interactionTarget, 'web-vitals names the removed button');
  assertSameVitals(t, record);
});

test('early input: interactions before the module has loaded count towards INP', SCENARIO, async (t) => {
  // The page's JS and web-vitals load at once; perfwatch's wasm module arrives 2 s late.
  const { page, run } = await open(t, 'early', { waitForStart: false });
  await click(page, '#fast');
  await click(page, '#slow');
  await pageEvent(page, 'clicked', 2);
  await pageEvent(page, 'pw-ready|pw-error');
  await settle(page, 2);
  const record = await leave(page, run);

  const order = record.events.map((e) => e.name).filter((n) => n === 'clicked' || n.startsWith('pw-'));
  assert.deepEqual(order, ['clicked', 'clicked', 'pw-ready'], 'both clicks came before perfwatch started');
  const inp = instances(record.wv).INP?.[0];
  // The slow click is INP, and only an observer from before the module loaded saw its entry.
  assert.ok(inp?.value >= 70 && inp.value < 104, `web-vitals' INP is the 70 ms click (${inp?.value})`);
  assertSameVitals(t, record);
});

test('INP in stock Chromium: perfwatch names the removed element where web-vitals cannot', SCENARIO, async (t) => {
  // Without EventTimingTargetSelector the browser says nothing about a node that left the DOM,
  // and web-vitals reports no target; perfwatch named it when the click began.
  const stock = await launchBrowser();
  t.after(() => stock.close());
  const { page, run } = await open(t, 'inp', { on: stock });
  const record = await slowInteractions(page, run);

  const theirs = instances(record.wv).INP?.[0];
  const ours = instances(record.pw).INP?.at(-1);
  assert.equal(theirs?.attribution?.interactionTarget, undefined, 'web-vitals has no target here');
  // web-vitals' selector rules (tag, classes sorted, up to the nearest id) applied to inp.html's
  // slowest button, `<button class="slowest action">` in `<div id="buttons">`.
  assert.equal(ours?.attribution?.interactionTarget, '#buttons>button.action.slowest');
  assertSameVitals(t, record, { except: ['interactionTarget'] });
});

test('bfcache: after Back restores the page, every metric starts again as back-forward-cache', SCENARIO, async (t) => {
  const { page, run } = await open(t, 'bfcache');
  await lcpEntry(page, '/slow.png');
  await click(page, '#work'); // an interaction before leaving: INP of the first page view
  await pageEvent(page, 'clicked');
  await settle(page, 1);

  await page.goto(`${site.url}pages/blank.html`);
  await page.goBack({ waitUntil: 'commit' }); // a restore from the bfcache fires no load event
  await pageEvent(page, 'pageshow', 2);
  const pageshow = await page.evaluate(() => __e2e.events.filter((e) => e.name === 'pageshow').at(-1));
  assert.equal(pageshow.persisted, true, 'the page came back from the bfcache');

  // FCP, LCP and TTFB are reported two frames after the restore; INP needs an interaction.
  await page.waitForFunction(
    () => ['FCP', 'LCP', 'TTFB'].every((n) => __e2e.wv.some((m) => m.name === n && m.navigationType === 'back-forward-cache')),
    null,
    { timeout: WAIT },
  );
  await click(page, '#work');
  await pageEvent(page, 'clicked', 2);
  await settle(page, 2);
  const record = await leave(page, run);

  const theirs = instances(record.wv);
  for (const name of METRICS) {
    assert.deepEqual(
      (theirs[name] ?? []).map((m) => m.navigationType),
      ['navigate', 'back-forward-cache'],
      `web-vitals reports ${name} for the load and for the restore`,
    );
  }
  assertSameVitals(t, record);
});

/** The page views perfwatch started since `since` (epoch ms), once `count` have arrived. */
async function pageViews(since, count) {
  return eventually(async () => {
    const { body } = await collector.api(`/api/v1/monitoring/sessions?from=${since}&to=${Date.now() + 1000}`);
    return body.data.page_views.total >= count && body.data.page_views.total;
  }, WAIT, `${count} page views at the collector`);
}

test('soft navigation: a click that pushes a URL and replaces the main content', SCENARIO, async (t) => {
  const since = Date.now();
  const { page, run } = await open(t, 'softnav');
  const support = await page.evaluate(() => ({
    entryType: PerformanceObserver.supportedEntryTypes.includes('soft-navigation'),
    icp: typeof globalThis.PerformanceSoftNavigation?.prototype?.getLargestInteractionContentfulPaint,
  }));
  t.diagnostic(`soft navigation support ${JSON.stringify(support)}`);
  assert.deepEqual(support, { entryType: true, icp: 'function' }, 'web-vitals can follow soft navigations here');
  await lcpEntry(page);

  await click(page, '#to-article');
  await pageEvent(page, 'soft-navigation');
  // The new view's largest paint (the figure) before the next input ends its LCP.
  await page.waitForFunction(
    () => __e2e.events.some((e) => e.name === 'icp' && e.url?.includes('/slow.png')),
    null,
    { timeout: WAIT },
  );
  await click(page, '#like');
  await pageEvent(page, 'liked');
  await settle(page, 2);
  const record = await leave(page, run);

  const theirs = instances(record.wv);
  for (const name of METRICS) {
    assert.deepEqual(
      (theirs[name] ?? []).map((m) => m.navigationType),
      ['navigate', 'soft-navigation'],
      `web-vitals reports ${name} for the load and for the soft navigation`,
    );
  }
  assertSameVitals(t, record);
  // The soft navigation started a page view of its own at the collector.
  assert.equal(await pageViews(since, 2), 2, 'the load and the soft navigation');
});

test('route change where the browser reports no soft navigations: a page view, no new vitals', SCENARIO, async (t) => {
  // As in a browser without soft navigations (Firefox, Safari): the entry type is hidden from
  // both libraries before they load.
  const since = Date.now();
  const { page, run } = await open(t, 'softnav', {
    initScript: () => {
      const types = PerformanceObserver.supportedEntryTypes.filter((type) => type !== 'soft-navigation');
      Object.defineProperty(PerformanceObserver, 'supportedEntryTypes', { get: () => types });
    },
  });
  await lcpEntry(page);
  await click(page, '#to-article');
  await pageEvent(page, 'navigated');
  await settle(page, 1);
  const record = await leave(page, run);

  const theirs = instances(record.wv);
  for (const name of METRICS) {
    for (const metric of theirs[name] ?? []) assert.equal(metric.navigationType, 'navigate', name);
  }
  assertSameVitals(t, record);
  // perfwatch followed the history API instead: a second page view for its own events.
  assert.equal(await pageViews(since, 2), 2, 'the load and the route change');
});

test('background tab: a page loaded hidden reports neither FCP nor LCP', SCENARIO, async (t) => {
  const run = randomUUID();
  const browserTabs = await rawTabs(t);
  const tab = await browserTabs.tab(pageUrl('background', run), { background: true });
  const loaded = await settled(run, undefined, (r) => names(r.events, 'load').length > 0 && started(r), 'the load');
  const [start] = names(loaded.events, 'start');
  const [load] = names(loaded.events, 'load');
  t.diagnostic(`at start ${JSON.stringify(start)}; at load ${JSON.stringify(load)}`);
  assert.equal(start.visibilityState, 'hidden', 'the page starts hidden');
  assert.equal(load.visibilityState, 'hidden', 'and is still hidden when loaded');

  // Shown (it paints now), then hidden again by bringing the other tab to the front.
  await browserTabs.activate(tab);
  await settled(run, loaded.doc, (r) => names(r.events, 'lcp').length > 0, 'the page to paint once shown');
  await browserTabs.activate(browserTabs.front);
  const record = await settled(
    run,
    loaded.doc,
    (r) => names(r.events, 'hidden').length > 0,
    'the page to be hidden again',
  );

  const [theirs, ours] = [instances(record.wv), instances(record.pw)];
  for (const name of ['FCP', 'LCP']) {
    assert.equal(theirs[name], undefined, `web-vitals reports no ${name}`);
    assert.equal(ours[name], undefined, `perfwatch reports no ${name}`);
  }
  assertSameVitals(t, record);
});

test('prerender: a page prerendered by speculation rules, then activated', SCENARIO, async (t) => {
  const run = randomUUID();
  const browserTabs = await rawTabs(t);
  await browserTabs.tab(pageUrl('prerender-from', run));
  // The referrer navigates to the prerendered page once perfwatch has started there.
  const activated = await settled(
    run,
    undefined,
    (r) => names(r.events, 'prerenderingchange').length > 0 && names(r.events, 'lcp').some((e) => e.url.includes('/slow.png')),
    'the prerendered page to be activated and painted',
  );
  const [start] = names(activated.events, 'start');
  t.diagnostic(`at start ${JSON.stringify(start)}`);
  assert.equal(start.prerendering, true, 'the page was prerendered');
  await browserTabs.activate(browserTabs.front); // hidden: LCP is final, CLS and INP are reported
  const record = await settled(
    run,
    activated.doc,
    (r) => names(r.events, 'hidden').length > 0,
    'the page to be hidden',
  );

  const theirs = instances(record.wv);
  for (const name of ['TTFB', 'FCP', 'LCP', 'CLS']) {
    assert.equal(theirs[name]?.[0]?.navigationType, 'prerender', `web-vitals reports ${name} as prerender`);
  }
  assertSameVitals(t, record);
});
