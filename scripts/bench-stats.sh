#!/usr/bin/env bash
# Statistics latency with a month of backend calls stored (not part of CI; results go to
# BENCHMARKS.md by hand): CALLS (default 10 000 000) API and AI calls spread over DAYS (30),
# rolled up as a live collector would have, then GET /api/stats, /ai/stats and /dashboard over
# the last hour and the last 30 days (both from the roll-ups), and /timeseries (the dashboard's
# charts) over the last hour, day and 30 days, are timed by oha, one request at
# a time, against /health (the cheapest handler) in the same run; and each once on a freshly
# started collector (cold: nothing cached).
#
#   scripts/bench-stats.sh                      # needs oha (cargo install oha --locked)
#   CALLS=1000000 REQUESTS=100 scripts/bench-stats.sh
#   DATA=/tmp/pw-10m scripts/bench-stats.sh     # seeds DATA once, then reuses it
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
CALLS=${CALLS:-10000000}
DAYS=${DAYS:-30}
REQUESTS=${REQUESTS:-200}
command -v oha >/dev/null || { echo "oha is needed: cargo install oha --locked" >&2; exit 1; }

cargo build --release -q -p perfwatch-collector --bin perfwatch-collector --example seed_calls
bin=$PWD/target/release/perfwatch-collector
work=$(mktemp -d)
data=${DATA:-$work/data}
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

if [ ! -f "$data/perfwatch.db" ]; then
  mkdir -p "$data"
  echo "== seeding $CALLS calls over $DAYS days into $data"
  target/release/examples/seed_calls "$data" "$CALLS" "$DAYS"
fi
echo "== database: $(du -sh "$data" | cut -f1)"

# Raw calls and minutes kept as long as the history, so that nothing is pruned meanwhile.
cat >"$work/collector.toml" <<TOML
retention_days = $((DAYS + 1))
rollup_minute_days = $((DAYS + 1))
TOML
start() { # sets pid and addr
  "$bin" --config "$work/collector.toml" --listen 127.0.0.1:0 --data-dir "$data" \
    >"$work/out" 2>"$work/log" &
  pid=$!
  addr=""
  for _ in $(seq 300); do
    addr=$(sed -n 's|^perfwatch-collector listening on http://||p' "$work/out")
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$work/log"; exit 1; }
  sleep 2
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

hours=$((DAYS * 24))
paths=( /api/v1/monitoring/health \
            "/api/v1/monitoring/api/stats?hours=1" "/api/v1/monitoring/ai/stats?hours=1" \
            "/api/v1/monitoring/dashboard?hours=1" \
            "/api/v1/monitoring/api/stats?hours=$hours" "/api/v1/monitoring/api/stats?hours=$hours&group_by=user" \
            "/api/v1/monitoring/ai/stats?hours=$hours" "/api/v1/monitoring/ai/stats?hours=$hours&group_by=model" \
            "/api/v1/monitoring/dashboard?hours=$hours" \
            "/api/v1/monitoring/timeseries?hours=1" "/api/v1/monitoring/timeseries?hours=24" \
            "/api/v1/monitoring/timeseries?hours=$hours")

# Cold: the first request a fresh collector answers (nothing cached; a dashboard polling a
# sliding window meets this once a minute for its oldest minutes, once an hour for its hours).
declare -A cold
for path in "${paths[@]}"; do
  start
  cold[$path]=$(curl -sf -o /dev/null -w '%{time_total}' "http://$addr$path")
  stop
done

start
echo
echo "| request ($(nproc) cores, one at a time, $REQUESTS requests) | source | cold (ms) | p50 (ms) | p99 (ms) |"
echo "|---|---|---|---|---|"
for path in "${paths[@]}"; do
  source=$(curl -sf "http://$addr$path" | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]
print(d.get("source") or d.get("api_statistics", {}).get("source") or "-")')
  oha --no-tui --output-format json -n "$REQUESTS" -c 1 "http://$addr$path" | python3 -c '
import json, sys
r = json.load(sys.stdin)
p = r["latencyPercentiles"]
print("| `%s` | %s | %.1f | %.2f | %.2f |" % (sys.argv[1], sys.argv[2], float(sys.argv[3]) * 1000,
      p["p50"] * 1000, p["p99"] * 1000))' "$path" "$source" "${cold[$path]}"
done
