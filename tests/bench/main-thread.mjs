// Main-thread cost of the SDK on a busy page, side by side with web-vitals alone: a page with
// 300 resources, 50 slow interactions and 20 long tasks, loaded in headless Chromium with the
// V8 sampling profiler on (50 µs). Time is attributed by script: the SDK's wasm module, its glue
// and TS layer; web-vitals' script. Each library is measured on its own page load (the other
// absent), ROUNDS times, and the median reported. Also reported: the longest stretch of samples
// with SDK code on the stack (a long task is 50 ms), and whether any long animation frame names
// an SDK script.
//
//   node bench/main-thread.mjs            (from tests/, after scripts/build.sh)
//
// Results and how to read them: BENCHMARKS.md, "SDK main-thread cost".
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../e2e/harness.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const RESOURCES = 300;
const INTERACTIONS = 50;
const LONG_TASKS = 20;

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const require = createRequire(import.meta.url);
const webVitalsIife = await readFile(
  join(dirname(require.resolve('web-vitals')), 'web-vitals.attribution.iife.js'),
);

/** The page: `lib` is `perfwatch`, `web-vitals` or `none` (the page's own work only). */
function page(lib) {
  const images = Array.from({ length: RESOURCES }, (_, i) => `<img src="/img/${i}.svg" width="8" height="8">`).join('');
  const buttons = Array.from({ length: 10 }, (_, i) => `<button id="b${i}" class="btn">${i}</button>`).join('');
  const load = {
    perfwatch: `<script type="module">
      import { init } from '/pw/dist/index.js';
      window.monitor = await init({ endpoint: location.origin, app: 'bench', maxResources: 1000, onMetric() {} });
    </script>`,
    'web-vitals': `<script src="/web-vitals.js"></script><script>
      for (const on of ['onLCP', 'onINP', 'onCLS', 'onFCP', 'onTTFB']) webVitals[on](() => {});
    </script>`,
    none: '',
  }[lib];
  return `<!doctype html><html><head><meta charset="utf-8">${load}</head><body>
    <h1>Busy page</h1><div>${buttons}</div><div>${images}</div>
    <script>
      const busy = (ms) => { const end = performance.now() + ms; while (performance.now() < end); };
      document.querySelectorAll('.btn').forEach((b, i) => b.addEventListener('click', () => busy(40 + i * 5)));
      window.longTasks = (n) => { for (let i = 0; i < n; i++) setTimeout(() => busy(60), i * 100); };
    </script></body></html>`;
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname.startsWith('/page/')) {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(page(url.pathname.slice('/page/'.length)));
  } else if (url.pathname.startsWith('/img/')) {
    res.writeHead(200, { 'content-type': 'image/svg+xml', 'cache-control': 'no-store' });
    res.end('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>');
  } else if (url.pathname === '/web-vitals.js') {
    res.writeHead(200, { 'content-type': 'text/javascript' });
    res.end(webVitalsIife);
  } else if (url.pathname.startsWith('/pw/')) {
    const file = join(root, 'npm', url.pathname.slice('/pw/'.length));
    const type = file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
    try {
      res.writeHead(200, { 'content-type': type });
      res.end(await readFile(file));
    } catch {
      res.writeHead(404).end();
    }
  } else {
    // The SDK's batches: accepted and dropped.
    req.resume();
    res.writeHead(202, { 'access-control-allow-origin': '*' }).end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

/** Which profile nodes are the library's own code. */
const isSdk = {
  perfwatch: (url) => url.includes('/pw/') || url.startsWith('wasm://'),
  'web-vitals': (url) => url.endsWith('/web-vitals.js'),
  none: () => false,
};

async function measure(browser, lib) {
  const page = await browser.context.newPage();
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
  await cdp.send('Profiler.start');
  await page.goto(`${origin}/page/${lib}`, { waitUntil: 'load' });
  await page.waitForTimeout(500);
  for (let i = 0; i < INTERACTIONS; i++) {
    await page.click(`#b${i % 10}`);
  }
  await page.evaluate((n) => window.longTasks(n), LONG_TASKS);
  await page.waitForTimeout(LONG_TASKS * 100 + 500);
  // perfwatch serializes and sends what it has (what it does when the page is hidden).
  await page.evaluate(() => window.monitor?.report());
  const loafScripts = await page.evaluate(() =>
    performance
      .getEntriesByType('long-animation-frame')
      .flatMap((f) => f.scripts.map((s) => ({ url: s.sourceURL, duration: s.duration }))),
  );
  const { profile } = await cdp.send('Profiler.stop');
  const resources = await page.evaluate(() => performance.getEntriesByType('resource').length);
  await page.close();

  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const sdkOnStack = new Map();
  const onStack = (id) => {
    if (sdkOnStack.has(id)) return sdkOnStack.get(id);
    const node = byId.get(id);
    const value = isSdk[lib](node.callFrame.url) || (parent.has(id) && onStack(parent.get(id)));
    sdkOnStack.set(id, value);
    return value;
  };
  let selfMs = 0;
  let run = 0;
  let longestRun = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    if (isSdk[lib](byId.get(id).callFrame.url)) selfMs += dt;
    if (onStack(id)) {
      run += dt;
      longestRun = Math.max(longestRun, run);
    } else {
      run = 0;
    }
  });
  const inclusiveMs = profile.samples.reduce(
    (sum, id, i) => sum + (onStack(id) ? (profile.timeDeltas[i + 1] ?? 0) / 1000 : 0),
    0,
  );
  const sdkLoaf = loafScripts.filter((s) => isSdk[lib](s.url ?? ''));
  // Self time per SDK function, for DETAIL=1.
  const functions = new Map();
  profile.samples.forEach((id, i) => {
    const { callFrame } = byId.get(id);
    if (!isSdk[lib](callFrame.url)) return;
    const key = `${callFrame.functionName || '(anonymous)'} ${callFrame.url.split('/').pop()}`;
    functions.set(key, (functions.get(key) ?? 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000);
  });
  return { inclusiveMs, selfMs, longestRun, sdkLoaf, resources, functions };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const browser = await launchChromium();
const results = {};
for (const lib of ['web-vitals', 'perfwatch']) {
  const runs = [];
  for (let i = 0; i < ROUNDS; i++) runs.push(await measure(browser, lib));
  results[lib] = runs;
}
await browser.close();
server.close();

console.log(
  `${RESOURCES} resources, ${INTERACTIONS} clicks (40-85 ms handlers), ${LONG_TASKS} long tasks of 60 ms; median of ${ROUNDS} page loads each\n`,
);
console.log('| library | SDK code on the stack (ms) | SDK self time (ms) | longest SDK stretch (ms) | LoAF scripts from the SDK |');
console.log('|---|---:|---:|---:|---:|');
for (const [lib, runs] of Object.entries(results)) {
  const f = (k) => median(runs.map((r) => r[k])).toFixed(1);
  const loaf = Math.max(...runs.map((r) => r.sdkLoaf.length));
  console.log(`| ${lib} | ${f('inclusiveMs')} | ${f('selfMs')} | ${f('longestRun')} | ${loaf} |`);
}
console.log(`\nresources seen by the page: ${results.perfwatch.map((r) => r.resources).join(', ')}`);
if (process.env.DETAIL) {
  for (const [lib, runs] of Object.entries(results)) {
    const top = [...runs[0].functions].sort((a, b) => b[1] - a[1]).slice(0, 15);
    console.log(`\n${lib}, first load, self time by function:`);
    for (const [name, ms] of top) console.log(`  ${ms.toFixed(1).padStart(6)} ms  ${name}`);
  }
}
