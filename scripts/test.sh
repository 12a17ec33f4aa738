#!/usr/bin/env bash
# Installs what the tests need (each part skipped when present) and runs every test:
# formatting and lints, Rust unit and integration tests, the SDK's round trip as WebAssembly,
# then the end-to-end test (real collector, real Chromium, web-vitals as the reference).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

scripts/setup-build.sh
scripts/setup-test.sh

step "cargo fmt --check"
cargo fmt --all -- --check

# Builds the npm package (tsc type-checks it, strict) and the example app from its tarball,
# first: the collector embeds the npm build's dashboard page, which its tests then check.
scripts/build.sh

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "Rust tests (protocol, collector, SDK natively)"
cargo test --workspace

step "SDK round trip as WebAssembly (numbers formatted by JavaScript)"
cargo test -p perfwatch-sdk --target wasm32-unknown-unknown --test roundtrip

step "SDK logic and send queue as WebAssembly in headless Chromium (ChromeDriver)"
cargo test -p perfwatch-sdk --target wasm32-unknown-unknown --test logic --test transport

step "the npm package's TypeScript layer and React bindings (vitest, jsdom)"
(cd npm && npx vitest run)

step "the SDK's shipped size (npm/scripts/size.mjs: fails when it grows past its ceiling)"
(cd npm && node scripts/size.mjs --check)

step "type-checking the example app against the packed perfwatch types"
(cd examples/react-app && npx tsc -p tsconfig.json)

step "end-to-end tests"
(cd tests && node --test --test-concurrency=1 e2e/)
