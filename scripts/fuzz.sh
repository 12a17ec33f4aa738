#!/usr/bin/env bash
# Fuzzes the parsers and mappings that take untrusted bodies (not part of CI): each target in
# fuzz/ (cargo-fuzz, libFuzzer, nightly) for SECONDS_PER_TARGET seconds (default 60).
#
#   scripts/fuzz.sh            # 60 s per target
#   scripts/fuzz.sh 600        # 10 min per target
#   TARGETS="otlp_json" scripts/fuzz.sh 30
#
# Installs cargo-fuzz when missing. Each target starts from the committed seeds
# (fuzz/seeds/TARGET) plus what earlier runs found (fuzz/corpus/TARGET, not committed).
# Exits non-zero when a target crashed, listing the inputs it saved under fuzz/artifacts/
# (`cargo +nightly fuzz run TARGET FILE` replays one); each should become a regular test.
# Honours CARGO_TARGET_DIR (the build goes to $CARGO_TARGET_DIR/fuzz).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
SECONDS_PER_TARGET=${1:-60}
TARGETS=${TARGETS:-browser_batch backend_batch otlp_protobuf otlp_json}

if ! cargo +nightly --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal || exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  # --locked can fail when a pinned dependency is not served; then resolve afresh.
  cargo +nightly install cargo-fuzz --locked || cargo +nightly install cargo-fuzz || exit 1
fi

target_dir=()
if [ -n "${CARGO_TARGET_DIR:-}" ]; then target_dir=(--target-dir "$CARGO_TARGET_DIR/fuzz"); fi

cargo +nightly fuzz build "${target_dir[@]}" || exit 1

failed=()
for target in $TARGETS; do
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  before=$(ls "fuzz/artifacts/$target" | wc -l)
  echo "==> $target for ${SECONDS_PER_TARGET}s"
  # -max_len: a browser batch is at most 64 KB, but the interesting structure fits in far less.
  log="fuzz/corpus/$target.log"
  cargo +nightly fuzz run "${target_dir[@]}" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1
  status=$?
  grep -E '^(Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | sed 's/^/  /'
  after=$(ls "fuzz/artifacts/$target" | wc -l)
  if [ "$status" -ne 0 ] || [ "$after" -gt "$before" ]; then
    failed+=("$target")
    grep -E -A3 'panicked|ERROR: |SUMMARY' "$log" | head -20 | sed 's/^/  /'
    echo "  (whole output: $log)"
  fi
done

artifacts=$(find fuzz/artifacts -type f 2>/dev/null | sort)
if [ ${#failed[@]} -gt 0 ] || [ -n "$artifacts" ]; then
  echo
  echo "fuzzing found problems in: ${failed[*]:-(earlier runs)}"
  echo "crash inputs (replay with: cargo +nightly fuzz run TARGET FILE):"
  echo "$artifacts" | sed 's/^/  /'
  exit 1
fi
echo
echo "no crashes: $TARGETS, ${SECONDS_PER_TARGET}s each"
