#!/usr/bin/env bash
# Measures what `init()` ships (gzip -9) against web-vitals, the baseline, in the same run.
# Needs a built npm/ (scripts/build.sh) and tests/node_modules (scripts/setup-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
gz() { gzip -9c "$1" | wc -c; }
wasm=$(gz npm/wasm/perfwatch_sdk_bg.wasm)
glue=$(gz npm/wasm/perfwatch_sdk.js)
ts=$(gz npm/dist/index.js)
wv=$(gz tests/node_modules/web-vitals/dist/web-vitals.js)
printf '| part | bytes (gzip -9) |\n|---|---|\n'
printf '| perfwatch_sdk_bg.wasm (wasm-opt -Oz) | %d |\n' "$wasm"
printf '| perfwatch_sdk.js (wasm-bindgen glue) | %d |\n' "$glue"
printf '| dist/index.js (TypeScript layer) | %d |\n' "$ts"
printf '| **perfwatch total** | **%d** |\n' "$((wasm + glue + ts))"
printf '| web-vitals %s (baseline, web-vitals.js) | %d |\n' \
  "$(node -p "require('./tests/node_modules/web-vitals/package.json').version")" "$wv"
