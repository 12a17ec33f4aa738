#!/usr/bin/env bash
# Installs what building perfwatch needs, skipping what is already there:
# the wasm32 Rust target, the wasm-bindgen CLI of the exact version in Cargo.lock, and the npm
# packages of the SDK package and the example app.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown Rust target"
  rustup target add wasm32-unknown-unknown
fi

# The CLI must match the wasm-bindgen library version exactly (pinned in Cargo.toml).
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  step "installing wasm-bindgen-cli $want (about 3 minutes; found '${have:-none}')"
  # Not --locked: a crate pinned in its lock file is not served by the registry here.
  cargo install wasm-bindgen-cli --version "$want"
fi

step "installing npm packages (npm/, examples/react-app/)"
(cd npm && npm ci --no-audit --no-fund --loglevel=error)
(cd examples/react-app && npm ci --no-audit --no-fund --loglevel=error)
