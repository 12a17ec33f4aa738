#!/usr/bin/env bash
# Builds everything, then runs the collector on its embedded SQLite default
# (http://127.0.0.1:8001, data in ./perfwatch-data) and serves the built example app
# (http://127.0.0.1:8002). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh --release

pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM

./target/release/perfwatch-collector &
pids+=($!)
(cd examples/react-app && exec npx vite preview --host 127.0.0.1 --port 8002 --strictPort) &
pids+=($!)

cat <<MSG

  perfwatch is running:
    example app        http://127.0.0.1:8002/
    collector          http://127.0.0.1:8001/
    vitals (last hour) http://127.0.0.1:8001/api/v1/monitoring/frontend/vitals?hours=1
  Open the example app, click once, then leave or hide the tab to send its vitals. Ctrl-C stops.

MSG
wait -n "${pids[@]}"
