#!/usr/bin/env bash
# Installs what the tests need beyond the build, skipping what is already there: Debian's
# Chromium and ChromeDriver, and the end-to-end tests' npm packages (playwright-core, web-vitals).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  printf '\n==> installing Debian chromium and chromium-driver\n'
  sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium chromium-driver
fi
(cd tests && npm ci --no-audit --no-fund --loglevel=error)
