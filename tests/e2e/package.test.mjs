// The package as a new user gets it: the tarball `npm pack` made (scripts/build.sh puts it in
// dist-pack/) installed into a brand-new Vite + React app, built, and run in headless Chromium
// against a real collector; and the same tarball's files loaded by a plain
// `<script type="module">` page with no bundler at all. Both must start the monitor and reach
// the collector.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { eventually, launchChromium, root, serveStatic, startCollector, stopCleanly } from './harness.mjs';

const run = promisify(execFile);

let collector;
let browser;
let app;
let tarball;

before(async () => {
  const packs = (await readdir(join(root, 'dist-pack'))).filter((f) => f.endsWith('.tgz'));
  assert.equal(packs.length, 1, `one tarball in dist-pack/ (scripts/build.sh makes it): ${packs}`);
  tarball = join(root, 'dist-pack', packs[0]);
  collector = await startCollector();
  browser = await launchChromium();
  app = await mkdtemp(join(tmpdir(), 'perfwatch-new-app-'));
});

after(async () => {
  await browser?.close();
  if (app) await rm(app, { recursive: true, force: true });
  await stopCleanly(collector);
});

/** Interactions the collector stored under `name`. */
async function stored(name) {
  const { body } = await collector.api('/api/v1/monitoring/frontend/vitals?hours=1');
  return body.data.interactions.find((g) => g.name === name)?.count ?? 0;
}

/** Opens `url`, waits for `window.__started`, records one interaction and leaves the page. */
async function visit(url, name) {
  const page = await browser.context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  await page.goto(url);
  await eventually(() => page.evaluate(() => window.__started === true || window.__failed), 20_000, `the monitor on ${url}`)
    .then((state) => assert.equal(state, true, `started: ${state}; ${problems.join('\n')}`));
  await page.evaluate((n) => window.__monitor.monitorUserInteraction(n, () => {}), name);
  await page.goto('about:blank');
  await eventually(async () => (await stored(name)) === 1, 15_000, `${name} at the collector`);
  await page.close();
}

test('the tarball installs into a new Vite + React app, which builds and reports', { timeout: 300_000 }, async () => {
  await mkdir(join(app, 'src'));
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'new-app', private: true, type: 'module', scripts: { build: 'vite build' } }, null, 2),
  );
  await writeFile(
    join(app, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><title>new app</title></head>' +
      '<body><div id="root"></div><div id="dashboard"></div><script type="module" src="/src/main.jsx"></script></body></html>',
  );
  await writeFile(
    join(app, 'src/main.jsx'),
    `import { createRoot } from 'react-dom/client';
import { init } from 'perfwatch';
import { PerformanceMonitorProvider, usePerformanceMonitor } from 'perfwatch/react';
import { PerformanceDashboard } from 'perfwatch/dashboard';
const started = init({ endpoint: ${JSON.stringify(collector.url)}, app: 'new-app' });
started.then((m) => { window.__monitor = m; window.__started = true; }, (e) => { window.__failed = String(e); });
function App() {
  const { monitorUserInteraction } = usePerformanceMonitor();
  return <button onClick={() => monitorUserInteraction('click', () => {})}>Hello</button>;
}
createRoot(document.getElementById('root')).render(
  <PerformanceMonitorProvider monitor={started}><App /></PerformanceMonitorProvider>,
);
createRoot(document.getElementById('dashboard')).render(
  <PerformanceDashboard endpoint={${JSON.stringify(collector.url)}} refreshSeconds={0} />,
);
`,
  );
  await writeFile(
    join(app, 'vite.config.js'),
    "export default { oxc: { jsx: { runtime: 'automatic' } } };\n",
  );
  // What a user runs: install the app's own dependencies and the package, then build.
  const npm = (args) => run('npm', args, { cwd: app, timeout: 240_000 });
  await npm(['install', '--no-audit', '--no-fund', '--loglevel=error', 'react@19', 'react-dom@19', 'vite@8', tarball]);
  await npm(['run', 'build', '--silent']);
  const site = await serveStatic(join(app, 'dist'));
  try {
    await visit(site.url, 'new-vite-app');
    // perfwatch/dashboard in the same app reads the collector from the app's origin.
    const page = await browser.context.newPage();
    await page.goto(site.url);
    await page.getByTestId('card-system').waitFor({ timeout: 20_000 });
    assert.ok((await page.locator('.pw-plot canvas').count()) >= 1, 'the dashboard drew a chart');
    await page.close();
  } finally {
    await site.close();
  }
});

test('a plain <script type="module"> page, no bundler, loads the package and reports', { timeout: 120_000 }, async () => {
  // The installed package's files, as a CDN or a static server would serve them.
  const pkg = join(app, 'plain');
  await mkdir(pkg, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', pkg]);
  await writeFile(
    join(pkg, 'index.html'),
    `<!doctype html><html><head><meta charset="utf-8"><title>plain</title></head><body>
<script type="module">
  import { init } from './package/dist/index.js';
  init({ endpoint: ${JSON.stringify(collector.url)}, app: 'plain-page' }).then(
    (m) => { window.__monitor = m; window.__started = true; },
    (e) => { window.__failed = String(e); },
  );
</script></body></html>`,
  );
  const site = await serveStatic(pkg);
  try {
    await visit(site.url, 'plain-script-page');
  } finally {
    await site.close();
  }
});
