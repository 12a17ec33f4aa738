// Builds the collector's dashboard page into dist/dashboard-app/: index.html and one hashed,
// minified script (the dashboard component, uPlot, and Preact standing in for React). The
// collector embeds that folder when it is built (collector/build.rs), so `npm run build` must
// run before `cargo build` for the real page. Usage: node scripts/build-dashboard-app.mjs
//
// The page is its own app, so it need not carry React: preact/compat runs the same component
// (hooks, createRoot, StrictMode) in about a tenth of React DOM's bytes (BENCHMARKS.md,
// "Dashboard size"). Apps that render `perfwatch/dashboard` themselves keep their own React.
import { build } from 'esbuild';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'dashboard-app');
await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'assets'), { recursive: true });

const result = await build({
  entryPoints: { dashboard: join(root, 'dashboard-app', 'main.tsx') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  jsx: 'automatic',
  alias: {
    react: 'preact/compat',
    'react-dom': 'preact/compat',
    'react-dom/client': 'preact/compat/client',
    'react/jsx-runtime': 'preact/jsx-runtime',
  },
  define: { 'process.env.NODE_ENV': '"production"' },
  entryNames: '[name]-[hash]',
  outdir: join(out, 'assets'),
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
const script = Object.keys(result.metafile.outputs).find((file) => file.endsWith('.js'));
if (!script) throw new Error('esbuild wrote no script');
const name = script.split('/').pop();

await writeFile(
  join(out, 'index.html'),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>perfwatch dashboard</title>
<link rel="icon" href="data:,">
<script type="module" src="./assets/${name}"></script>
</head>
<body style="margin:0">
<noscript>The perfwatch dashboard needs JavaScript. Its JSON API answers under /api/v1/monitoring/.</noscript>
<div id="root"></div>
</body>
</html>
`,
);
console.log(`dashboard page: dist/dashboard-app/index.html, assets/${name}`);
