#!/usr/bin/env bash
# Builds everything, then runs the collector on its embedded SQLite default
# (http://127.0.0.1:8001, data in ./perfwatch-data, dashboard at /) and the example backend
# (http://127.0.0.1:8002: the built example app and the simulated AI API it calls, reporting its
# own API and AI calls to the collector). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh --release

pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM

./target/release/perfwatch-collector &
pids+=($!)
./target/release/perfwatch-example-backend --static-dir examples/react-app/dist \
  --collector http://127.0.0.1:8001 &
pids+=($!)

cat <<MSG

  perfwatch is running:
    example app        http://127.0.0.1:8002/   (AI hub: models, chat, gallery)
    collector          http://127.0.0.1:8001/   (dashboard)
    vitals (last hour) http://127.0.0.1:8001/api/v1/monitoring/frontend/vitals?hours=1
  Open the example app, pick a model and chat; leave or hide the tab to send the rest.
  The backend's API and AI calls: /api/v1/monitoring/api/stats?hours=1 and /ai/stats?hours=1.
  Ctrl-C stops.

MSG
wait -n "${pids[@]}"
