#!/usr/bin/env bash
# Builds everything: the SDK's wasm and the npm package (packed into dist-pack/ as a user would
# get it), the example app installed from that tarball, the collector and the example backend.
# Usage: scripts/build.sh [--release]   (--release builds the collector optimised)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
profile=()
[ "${1:-}" = "--release" ] && profile=(--release)

step() { printf '\n==> %s\n' "$*"; }

scripts/setup-build.sh

step "building the SDK (wasm) and the npm package"
(cd npm && npm run build --silent)
rm -rf dist-pack && mkdir -p dist-pack
(cd npm && npm pack --silent --pack-destination ../dist-pack >/dev/null)
tarball=$(ls dist-pack/perfwatch-*.tgz)

step "building the example app with $tarball"
(cd examples/react-app && npm install --no-save --no-audit --no-fund --loglevel=error "../../$tarball" && npx vite build --logLevel warn)

step "building the collector and the example backend ${profile[*]:-(debug)}"
cargo build -p perfwatch-collector -p perfwatch-example-backend "${profile[@]}"
