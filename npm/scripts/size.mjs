// What a user's bundler ships for `import { init } from 'perfwatch'`: the entry bundled and
// minified with esbuild (the TS layer and the wasm-bindgen glue), plus the wasm module it
// fetches; gzip -9 and brotli of each. web-vitals' attribution build, bundled the same way in
// the same run, is the baseline. The React bindings and the dashboard are other entry points
// and are not part of it.
//
//   node scripts/size.mjs            a table (BENCHMARKS.md, "SDK size")
//   node scripts/size.mjs --check    also fails when the total passes SIZE_CEILING_GZIP
//
// Run after `npm run build`. web-vitals comes from ../tests/node_modules (scripts/setup-test.sh).
import { build } from 'esbuild';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, '..');

/**
 * The regression ceiling for the shipped total (gzip bytes). The issue's budget is 15 KB
 * (15,360 bytes) and is NOT met; see BENCHMARKS.md. This ceiling is the size measured when
 * delivery, sessions, scrubbing, the app's own work and error events landed (50,111 bytes) plus
 * 2 %, so that growth cannot pass unnoticed while the SDK is shrunk towards the budget: lower
 * it as the size falls.
 */
export const SIZE_CEILING_GZIP = 51_100;
export const SIZE_BUDGET_GZIP = 15 * 1024;

const sizes = (bytes) => ({
  raw: bytes.length,
  gzip: gzipSync(bytes, { level: 9 }).length,
  brotli: brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11 },
  }).length,
});

/**
 * Bundles `source` (an ES module) minified, resolving packages from `from`, with code splitting
 * as an app's bundler does it: `{ entry, lazy }`, the chunk the page loads and the chunks only
 * a dynamic import loads (perfwatch's fetch/XHR instrumentation, when switched on). `external`:
 * packages left out (React, which a React app ships anyway).
 */
async function bundle(source, from, external = []) {
  const dir = await mkdtemp(join(tmpdir(), 'perfwatch-size-'));
  try {
    const entry = join(from, `.size-entry-${process.pid}.mjs`);
    await writeFile(entry, source);
    try {
      const result = await build({
        entryPoints: [entry],
        bundle: true,
        minify: true,
        format: 'esm',
        splitting: true,
        metafile: true,
        target: 'es2020',
        write: false,
        logLevel: 'silent',
        outdir: dir,
        external,
        jsx: 'automatic',
      });
      // The entry chunk and what it imports statically load with the page; the rest only
      // when a dynamic import asks for it.
      const outputs = result.metafile.outputs;
      // (Metafile paths are relative to the working directory.)
      const key = (file) => Object.keys(outputs).find((k) => resolve(k) === file.path);
      const entryKey = Object.keys(outputs).find((k) => k.includes('.size-entry-'));
      const eager = new Set();
      const visit = (k) => {
        if (eager.has(k)) return;
        eager.add(k);
        for (const i of outputs[k].imports) if (i.kind === 'import-statement' && !i.external) visit(i.path);
      };
      visit(entryKey);
      const join = (files) => Buffer.concat(files.map((f) => Buffer.from(f.contents)));
      return {
        entry: join(result.outputFiles.filter((f) => eager.has(key(f)))),
        lazy: join(result.outputFiles.filter((f) => !eager.has(key(f)))),
      };
    } finally {
      await rm(entry, { force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const { entry: js, lazy } = await bundle(
  "import { init } from './dist/index.js'; init({ endpoint: 'https://c.example', app: 'a' });",
  pkg,
);
const wasm = await readFile(join(pkg, 'wasm/perfwatch_sdk_bg.wasm'));
const ours = { js: sizes(js), wasm: sizes(wasm) };
const total = {
  raw: ours.js.raw + ours.wasm.raw,
  gzip: ours.js.gzip + ours.wasm.gzip,
  brotli: ours.js.brotli + ours.wasm.brotli,
};
const webVitals = sizes(
  (await bundle(
    "import { onLCP, onINP, onCLS, onFCP, onTTFB } from 'web-vitals/attribution';" +
      'for (const on of [onLCP, onINP, onCLS, onFCP, onTTFB]) on(console.log);',
    resolve(pkg, '../tests'),
  )).entry,
);

// The dashboard entry, without React (the app has it), and the collector's own page (all in).
const dashboard = sizes(
  (await bundle(
    "import { PerformanceDashboard } from './dist/dashboard.js'; console.log(PerformanceDashboard);",
    pkg,
    ['react', 'react-dom', 'react/jsx-runtime'],
  )).entry,
);
const pageScripts = await readdir(join(pkg, 'dist/dashboard-app/assets')).catch(() => []);
const page = pageScripts.filter((f) => f.endsWith('.js'));
const collectorPage =
  page.length > 0 ? sizes(Buffer.concat(await Promise.all(page.map((f) => readFile(join(pkg, 'dist/dashboard-app/assets', f)))))) : undefined;

const kb = (n) => (n / 1024).toFixed(1).padStart(6);
const row = (name, s) => `| ${name.padEnd(44)} | ${kb(s.raw)} | ${kb(s.gzip)} | ${kb(s.brotli)} |`;
console.log('| what (KB = 1024 bytes)                       |    raw |   gzip | brotli |');
console.log('|----------------------------------------------|-------:|-------:|-------:|');
console.log(row('perfwatch: JS (TS layer + wasm-bindgen glue)', ours.js));
console.log(row('perfwatch: wasm module', ours.wasm));
console.log(row('perfwatch: total', total));
console.log(row('web-vitals 6 attribution build (baseline)', webVitals));
console.log(row('loaded only with instrumentFetch/instrumentXhr', sizes(lazy)));
console.log(row('perfwatch/dashboard (uPlot in; React not)', dashboard));
if (collectorPage) console.log(row("collector's dashboard page (Preact in)", collectorPage));
console.log(
  `\nbudget ${kb(SIZE_BUDGET_GZIP).trim()} KB gzip: ${total.gzip <= SIZE_BUDGET_GZIP ? 'met' : `NOT met (${kb(total.gzip - SIZE_BUDGET_GZIP).trim()} KB over)`}`,
);

// The charts live in their own entry point: an app that only monitors never downloads them.
if (/u-cursor|uPlot/.test(Buffer.from(js).toString())) {
  console.error("init()'s bundle holds the dashboard's charts (uPlot): they must stay in perfwatch/dashboard");
  process.exit(1);
}

if (process.argv.includes('--check') && total.gzip > SIZE_CEILING_GZIP) {
  console.error(
    `perfwatch grew: ${total.gzip} bytes gzip shipped by init(), over the ceiling of ${SIZE_CEILING_GZIP} (npm/scripts/size.mjs)`,
  );
  process.exit(1);
}
