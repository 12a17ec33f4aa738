#!/usr/bin/env bash
# Soak test (not part of CI): a release collector on loopback with a fresh data dir (SQLite),
# its sustainable rate of good browser batches measured (PROBE_SECONDS of unthrottled load),
# then MINUTES (default 10) of mixed traffic at about 80 % of that rate: good batches (unique
# event ids; every fifth with two bad items among its good ones) and bad requests (malformed
# JSON, not an object, bad UTF-8, wrong content type, oversized bodies, gzip bombs, broken
# gzip, too many events, unknown paths). The load and the checks are collector/examples/soak.rs.
#
#   scripts/soak.sh          # 10 minutes
#   scripts/soak.sh 2        # 2 minutes
#   PROBE_SECONDS=20 SHARE=0.8 scripts/soak.sh 10
#
# Fails when a good request was answered other than 2xx, a bad one 5xx, an answer miscounted
# a batch's items, or, after a clean stop (SIGTERM), the export of the window misses an
# acknowledged event, holds one twice or holds a refused item. Reports the collector's
# resident memory (VmRSS) every 10 s: start, max, end. Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
MINUTES=${1:-10}
PROBE_SECONDS=${PROBE_SECONDS:-20}
SHARE=${SHARE:-0.8}

cargo build --release -q -p perfwatch-collector --bin perfwatch-collector --example soak
target=${CARGO_TARGET_DIR:-$PWD/target}
bin=$target/release/perfwatch-collector
soak=$target/release/examples/soak

work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT

RUST_LOG=${RUST_LOG:-warn} "$bin" --listen 127.0.0.1:0 --data-dir "$work/data" \
  >"$work/collector.out" 2>"$work/collector.log" &
pid=$!
addr=""
for _ in $(seq 300); do
  addr=$(sed -n 's|^perfwatch-collector listening on http://||p' "$work/collector.out")
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { echo "the collector did not start:"; cat "$work/collector.log"; exit 1; }
echo "collector $pid on $addr, data in $work/data; $(nproc) cores"

echo "==> sustainable rate: ${PROBE_SECONDS}s of unthrottled good batches"
probe=$("$soak" probe "$addr" "$PROBE_SECONDS")
echo "$probe"
rate=$(python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])["batches_per_s"] * float(sys.argv[2])))' "$probe" "$SHARE")

echo "==> ${MINUTES} min of mixed traffic: $rate good batches/s (${SHARE} of the probe) and bad requests"
status=0
result=$("$soak" run "$addr" "$((MINUTES * 60))" "$rate" "$pid" "$work/acked.txt") || status=$?
echo "$result"

echo "==> stopping the collector (SIGTERM) and exporting the window"
kill -TERM "$pid"
stop=0
wait "$pid" || stop=$?
pid=""
[ "$stop" -eq 0 ] || { echo "the collector exited with $stop"; tail -20 "$work/collector.log"; status=1; }
"$bin" export --data-dir "$work/data" --hours "$(( MINUTES / 60 + 2 ))" --out "$work/export.ndjson"
verify=$("$soak" verify "$work/acked.txt" "$work/export.ndjson") || status=$?
echo "$verify"

python3 - "$probe" "$result" "$verify" "$MINUTES" <<'PY'
import json, sys
probe, run, verify, minutes = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
g, b, r = run["good"], run["bad"], run["rss_kib"]
mib = lambda k: f"{k / 1024:.1f}" if k is not None else "?"
print()
print(f"| soak | {minutes} min |")
print("|---|---|")
print(f"| sustainable rate (probe, unthrottled) | {probe['batches_per_s']:.0f} batches/s ({probe['batches_per_s'] * probe['events_per_batch']:.0f} events/s) |")
print(f"| good batches | {g['sent']} sent at {g['target_per_s']:.0f}/s target ({g['per_s']:.0f}/s reached), {g['ok']} answered 2xx, **{g['not_2xx']} not 2xx**, {g['with_bad_items']} with bad items, {g['miscounted_answers']} miscounted |")
print(f"| good latency p50 / p99 / max | {g['latency_ms']['p50']:.1f} / {g['latency_ms']['p99']:.1f} / {g['latency_ms']['max']:.1f} ms |")
statuses = ", ".join(f"{k} {'/'.join(f'{s}×{n}' for s, n in v.items())}" for k, v in b["statuses"].items())
print(f"| bad requests | {b['sent']} ({b['per_s']:.0f}/s), **{b['server_errors']} answered 5xx**; {statuses} |")
print(f"| resident memory start / max / end | {mib(r['start'])} / {mib(r['max'])} / {mib(r['end'])} MiB |")
print(f"| acknowledged events stored | {verify['acked']} acked, {verify['stored']} stored, {verify['missing']} missing, {verify['stored_twice']} twice, {verify['refused_items_stored']} refused items stored |")
PY
exit "$status"
