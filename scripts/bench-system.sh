#!/usr/bin/env bash
# The host monitor's costs (not part of CI; results go to BENCHMARKS.md by hand):
#  1. latency of GET /system/info and /system/metrics (an hour and a week) with a week of host
#     history stored, against /health (the cheapest handler) in the same run, by oha;
#  2. the collector's idle resident memory and CPU share over IDLE_SECONDS (default 300) at the
#     default sampling interval.
# The cost of one sample against psutil is scripts/bench-sample.sh.
#
#   scripts/bench-system.sh                  # needs oha (cargo install oha --locked)
#   IDLE_SECONDS=60 DURATION=5 scripts/bench-system.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
DURATION=${DURATION:-10}
IDLE_SECONDS=${IDLE_SECONDS:-300}
command -v oha >/dev/null || { echo "oha is needed: cargo install oha --locked" >&2; exit 1; }

cargo build --release -q -p perfwatch-collector --bin perfwatch-collector --example seed_host_history
bin=$PWD/target/release/perfwatch-collector
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

start() { # data dir → sets pid and addr
  "$bin" --listen 127.0.0.1:0 --data-dir "$1" >"$1.out" 2>"$1.log" &
  pid=$!
  addr=""
  for _ in $(seq 100); do
    addr=$(sed -n 's|^perfwatch-collector listening on http://||p' "$1.out")
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$1.log"; exit 1; }
}

echo "== latency, a week of history stored ($(nproc) cores, oha 4 connections, ${DURATION}s each)"
target/release/examples/seed_host_history "$work/week" 7
start "$work/week"
sleep 1
echo
echo "| endpoint | requests/s | p50 (ms) | p99 (ms) |"
echo "|---|---|---|---|"
for path in /api/v1/monitoring/health /api/v1/monitoring/system/info \
            "/api/v1/monitoring/system/metrics?minutes=60" "/api/v1/monitoring/system/metrics?minutes=10080"; do
  oha --no-tui --output-format json -z "${DURATION}s" -c 4 "http://$addr$path" | python3 -c '
import json, sys
r = json.load(sys.stdin)
rps, p50, p99 = r["summary"]["requestsPerSec"], r["latencyPercentiles"]["p50"], r["latencyPercentiles"]["p99"]
print("| `%s` | %s | %.2f | %.2f |" % (sys.argv[1], format(round(rps), ","), p50 * 1000, p99 * 1000))' "$path"
done
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""

echo
echo "== idle: ${IDLE_SECONDS}s at the default interval (10 s samples, 60 s process lists)"
mkdir -p "$work/idle"
start "$work/idle"
sleep 5
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
before=$(ticks)
peak=0
for _ in $(seq "$IDLE_SECONDS"); do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  [ "$rss" -gt "$peak" ] && peak=$rss
  sleep 1
done
after=$(ticks)
hz=$(getconf CLK_TCK)
python3 - "$before" "$after" "$hz" "$IDLE_SECONDS" "$rss" "$peak" <<'PY'
import sys
before, after, hz, secs, rss, peak = map(float, sys.argv[1:])
print(f"| CPU share of one core | {(after - before) / hz / secs * 100:.3f} % |")
print(f"| resident memory at the end / peak | {rss / 1024:.1f} / {peak / 1024:.1f} MiB |")
PY
