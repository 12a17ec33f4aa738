#!/usr/bin/env bash
# Sustained ingest benchmark (not part of CI): the same release collector answering the same
# kind of load with the store switched off (parse, validate, queue, discard: the ceiling), with
# SQLite (durable: answer after the group commit and the WAL's fsync) and with PostgreSQL
# (synchronous_commit=on), side by side in one run. Results go to BENCHMARKS.md by hand.
#
#   scripts/bench-ingest.sh                 # 64 connections, 20 s per store, 50 events a batch
#   CONNECTIONS=32 DURATION=30 EVENTS=50 STORES="off sqlite" ROUNDS=5 scripts/bench-ingest.sh
#
# ROUNDS (default 3) runs the stores one after the other that many times and ends with SQLite's
# share of the ceiling in each round and their median: on a shared machine the ceiling itself
# moves by 20 % from one minute to the next, so one pair of runs says little.
#
# The load comes from collector/examples/loadgen.rs, which sends a different batch every time
# (fresh event ids), so every event is really stored; oha, for comparison, can only repeat one
# body, which is fine for the ceiling alone (nothing is stored there) and is run on it too when
# installed (`cargo install oha --locked`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-20}
EVENTS=${EVENTS:-50}
STORES=${STORES:-off sqlite postgres}   # which of them to run
ROUNDS=${ROUNDS:-3}

cargo build --release -q -p perfwatch-collector --bin perfwatch-collector --example loadgen
bin=$PWD/target/release/perfwatch-collector
gen=$PWD/target/release/examples/loadgen
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -f "$work/pg/postmaster.pid" ]; then as_postgres "$pgbin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# A throwaway PostgreSQL cluster on a free loopback port, durable settings (fsync on).
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
start_postgres() {
  pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$work/pg" && chown postgres "$work/pg" 2>/dev/null || true
  as_postgres "$pgbin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
  as_postgres "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w start \
    -o "-p $pgport -c listen_addresses=127.0.0.1 -c unix_socket_directories=$work/pg -c fsync=on -c synchronous_commit=on" >/dev/null
  echo "postgres://postgres@127.0.0.1:$pgport/postgres"
}

# Runs one store under load; prints a Markdown table row labelled $2.
run() {
  local name=$1 label=$2 store=$3
  local data="$work/data-$name"
  mkdir -p "$data"
  "$bin" --listen 127.0.0.1:0 --data-dir "$data" --store "$store" >"$work/$name.out" 2>"$work/$name.log" &
  local pid=$!
  pids+=("$pid")
  local addr=""
  for _ in $(seq 100); do
    addr=$(sed -n 's|^perfwatch-collector listening on http://||p' "$work/$name.out")
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$work/$name.log"; exit 1; }
  local idle_rss
  idle_rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  (while kill -0 "$pid" 2>/dev/null; do awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null; sleep 0.25; done) >"$work/$name.rss" &
  local result
  result=$("$gen" "$addr" "$CONNECTIONS" "$DURATION" "$EVENTS")
  local max_rss
  max_rss=$(sort -n "$work/$name.rss" | tail -1)
  if [ -n "${OHA_BODY:-}" ] && command -v oha >/dev/null; then
    oha_rps=$(oha --no-tui --output-format json -z "${DURATION}s" -c "$CONNECTIONS" -m POST -T 'text/plain;charset=UTF-8' \
      -D "$OHA_BODY" "http://$addr/api/v1/monitoring/frontend-metrics?key=bench" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["summary"]["requestsPerSec"]))')
    echo "  (oha, one repeated body, same collector: $((oha_rps * EVENTS)) events/s)" >&2
  fi
  kill -TERM "$pid"; wait "$pid" || true
  echo "$name $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["events_per_s"])' "$result")" >>"$work/rates"
  python3 - "$label" "$result" "$idle_rss" "$max_rss" <<'PY'
import json, sys
name, result, idle, peak = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
l = result["latency_ms"]
print(f"| {name} | {result['events_per_s']:,.0f} | {result['batches_per_s']:,.0f} | {l['p50']:.1f} / {l['p99']:.1f} | "
      f"{result['refused_503']} | {idle/1024:.1f} → {peak/1024:.1f} MiB |")
PY
}

# One fixed batch for oha's comparison run on the ceiling.
OHA_BODY="$work/body.json"
python3 - "$EVENTS" >"$OHA_BODY" <<'PY'
import json, sys, time
now = time.time() * 1000
n = int(sys.argv[1])
print(json.dumps({"v": 1, "app": "bench", "session_id": "oha", "page_view_id": "oha", "url": "https://app.example/chat",
  "time_origin": now - 5000, "sent_at": now, "events": [
  {"type": "web_vital", "event_id": f"oha-{i}", "name": "LCP", "value": 1000.5 + i, "delta": 1.5, "id": f"oha-{i}",
   "seq": 1, "rating": "good", "navigation_type": "navigate"} for i in range(n)]}), end="")
PY

echo "ingest benchmark: $CONNECTIONS connections, ${DURATION}s per store, $EVENTS events per batch, $(nproc) cores"
echo
echo "| store | events/s | batches/s | latency p50 / p99 (ms) | 503s | resident memory idle → peak |"
echo "|---|---|---|---|---|---|"
wanted() { [[ " $STORES " == *" $1 "* ]]; }
for round in $(seq "$ROUNDS"); do
  if wanted off; then run off "off (parse, validate, discard)" "discard:"; fi
  OHA_BODY=""
  if wanted sqlite; then run sqlite "sqlite (answer after commit + WAL fsync)" "sqlite://$work/perfwatch-$round.db"; fi
  if wanted postgres; then
    if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
      if [ -z "${pgurl:-}" ]; then pgurl=$(start_postgres); fi
      run postgres "postgresql (synchronous_commit=on)" "$pgurl"
    else
      echo "| postgresql | not installed (scripts/setup-test.sh installs it) | | | | |"
    fi
  fi
done

# Each store's share of the ceiling, round by round (each against the ceiling of its round).
python3 - "$work/rates" <<'PY'
import statistics, sys
rounds, current = [], {}
for line in open(sys.argv[1]):
    name, rate = line.split()
    if name == "off" and current:
        rounds.append(current)
        current = {}
    current[name] = float(rate)
rounds.append(current)
for store in ("sqlite", "postgres"):
    shares = [r[store] / r["off"] for r in rounds if store in r and "off" in r]
    if shares:
        listed = ", ".join(f"{s:.0%}" for s in shares)
        print(f"\n{store} ÷ ceiling, round by round: {listed}; median {statistics.median(shares):.0%}")
PY
