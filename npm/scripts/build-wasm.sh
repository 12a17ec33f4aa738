#!/usr/bin/env bash
# Builds the SDK's WebAssembly module into npm/wasm/: cargo (size profile) -> wasm-bindgen CLI
# (same version as the library in Cargo.lock) -> wasm-opt from npm's binaryen (Debian's binaryen
# 108 writes broken modules; see ../shared/TOOLCHAIN.md).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/.." && pwd)
out="$here/wasm"

cargo build --manifest-path "$root/Cargo.toml" -p perfwatch-sdk \
  --target wasm32-unknown-unknown --profile wasm-release --no-default-features
mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" \
  "$root/target/wasm32-unknown-unknown/wasm-release/perfwatch_sdk.wasm"
"$here/node_modules/.bin/wasm-opt" -Oz \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$out/perfwatch_sdk_bg.wasm" -o "$out/perfwatch_sdk_bg.wasm"
# Short import/export names in the module and the glue (see the script).
node "$here/scripts/minify-names.mjs" "$out/perfwatch_sdk_bg.wasm" "$out/perfwatch_sdk.js"
echo "built $(wc -c <"$out/perfwatch_sdk_bg.wasm") bytes of wasm ($(gzip -9c "$out/perfwatch_sdk_bg.wasm" | wc -c) gzip) in $out"
