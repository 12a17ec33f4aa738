#!/usr/bin/env bash
# Installs what the tests need beyond the build, skipping what is already there: Debian's
# Chromium and ChromeDriver, Debian's PostgreSQL server (the collector's PostgreSQL tests start a
# throwaway server of their own with its initdb and pg_ctl), and the end-to-end tests' npm
# packages (playwright-core, web-vitals).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo)
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    "${sudo[@]}" apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@"
}

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  printf '\n==> installing Debian chromium and chromium-driver\n'
  apt_install chromium chromium-driver
fi

if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  printf '\n==> installing Debian postgresql (server binaries for the collector tests)\n'
  apt_install postgresql
  # The package may create and start a cluster of its own: the tests do not use it.
  if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters --no-header 2>/dev/null | while read -r version name _ status _; do
      if [ "$status" = online ]; then
        "${sudo[@]}" pg_ctlcluster "$version" "$name" stop || true
      fi
    done
  fi
fi
(cd tests && npm ci --no-audit --no-fund --loglevel=error)
