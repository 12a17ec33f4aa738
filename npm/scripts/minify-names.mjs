// Shortens the names the wasm module and its wasm-bindgen glue use for each other.
//
// wasm-bindgen names every import `__wbg_<name>_<16 hex digits>` and both files spell each
// name out: some ninety random strings that gzip cannot shrink (about 3 KB of the shipped size).
// wasm-opt renames them (`--minify-imports-and-exports-and-modules`) and prints the mapping; this
// script applies the same mapping to the glue.
//
//   node scripts/minify-names.mjs <module.wasm> <glue.js>
//
// Both files are rewritten in place. Fails loudly if a name cannot be found in the glue, so a
// wasm-bindgen upgrade that changes the glue's shape cannot produce a broken package silently.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [wasmPath, gluePath] = process.argv.slice(2);
if (!wasmPath || !gluePath) {
  console.error('usage: minify-names.mjs <module.wasm> <glue.js>');
  process.exit(2);
}
const wasmOpt = join(dirname(fileURLToPath(import.meta.url)), '../node_modules/.bin/wasm-opt');
const features = [
  '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext',
  '--enable-mutable-globals', '--enable-reference-types', '--enable-multivalue',
];
const printed = execFileSync(
  wasmOpt,
  // The producers and target-features sections say how the module was built; browsers ignore them.
  [...features, '--minify-imports-and-exports-and-modules', '--strip-producers', '--strip-target-features', wasmPath, '-o', wasmPath],
  { encoding: 'utf8' },
);
const mapping = JSON.parse(printed.slice(printed.indexOf('{')));

let glue = readFileSync(gluePath, 'utf8');
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const replace = (pattern, by, what) => {
  const before = glue;
  glue = glue.replace(pattern, by);
  if (glue === before) throw new Error(`minify-names: ${what} not found in ${gluePath}`);
};

// Every import comes from one module, which becomes "a".
const modules = new Set(mapping.imports.map(([module]) => module));
if (modules.size !== 1) throw new Error(`minify-names: expected one import module, got ${[...modules]}`);
replace(`${JSON.stringify([...modules][0])}: import0`, '"a": import0', 'the import module');
for (const [, name, short] of mapping.imports) {
  replace(new RegExp(`\\b${escape(name)}:`, 'g'), `${JSON.stringify(short)}:`, `import ${name}`);
}
for (const [name, short] of mapping.exports) {
  // Exports the glue never reads (an abort handler) are fine to rename unseen.
  const uses = new RegExp(`\\bwasm\\.${escape(name)}\\b`, 'g');
  glue = glue.replace(uses, `wasm[${JSON.stringify(short)}]`);
}
writeFileSync(gluePath, glue);
