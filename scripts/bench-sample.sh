#!/usr/bin/env bash
# What one host sample costs (not part of CI): perfwatch's /proc sampler (collector/src/host),
# sysinfo refreshing the same parts (both in collector/examples/sample_cost.rs) and psutil
# collecting the same fields (scripts/bench_sample_psutil.py), side by side in one run.
# Results go to BENCHMARKS.md by hand.
#
#   scripts/bench-sample.sh                  # 1000 calls back to back, 25 paced 200 ms apart
#   N=2000 PACED=50 scripts/bench-sample.sh
#
# psutil is installed into a venv under /tmp the first time (PSUTIL_VENV to use another).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
N=${N:-1000}
PACED=${PACED:-25}
VENV=${PSUTIL_VENV:-/tmp/perfwatch-psutil}

cargo build --release -q -p perfwatch-collector --example sample_cost
if ! "$VENV/bin/python" -c 'import psutil' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q psutil
fi

ours=$(target/release/examples/sample_cost "$N" "$PACED")
theirs=$("$VENV/bin/python" scripts/bench_sample_psutil.py "$N" "$PACED")

python3 - "$ours" "$theirs" <<'PY'
import json, sys
ours, py = json.loads(sys.argv[1]), json.loads(sys.argv[2])
tools = {"perfwatch": ours["perfwatch"], "sysinfo": ours["sysinfo"], "psutil": py["psutil"]}
names = {"cpu": "CPU (shares, load)", "memory": "memory + swap", "disks": "disks",
         "network": "networks (+ rates)", "process": "own process", "full": "**full sample**",
         "top": f"top processes ({ours['processes']} processes)"}

def cell(tool, part, way):
    c = (tools[tool].get(part) or {}).get(way)
    return f"{c['wall_us']:.1f} / {c['cpu_us']:.1f}" if c else "—"

def ratio(part, way):
    a, b = (tools["perfwatch"].get(part) or {}).get(way), (tools["psutil"].get(part) or {}).get(way)
    return f"{a['wall_us'] / b['wall_us']:.2f}" if a and b and b["wall_us"] > 0 else "—"

print(f"host sample cost: {ours['cores']} cores, {ours['interfaces']} network interfaces, "
      f"{ours['disks']} disk(s), {ours['processes']} processes; psutil {py['psutil_version']} "
      f"(Python {py['python']}); µs per call, wall / CPU")
for way, title in [("paced", f"paced: {ours['paced_n']} calls 200 ms apart (a sampler's real cadence)"),
                   ("tight", f"back to back: {ours['n']} calls (top processes {max(ours['n'] // 20, 1)}), warm caches")]:
    print(f"\n{title}\n")
    print("| part | perfwatch µs (wall / CPU) | sysinfo 0.40 µs | psutil µs | perfwatch ÷ psutil (wall) |")
    print("|---|---|---|---|---|")
    for part in ["cpu", "memory", "disks", "network", "process", "full", "top"]:
        print(f"| {names[part]} | {cell('perfwatch', part, way)} | {cell('sysinfo', part, way)} | "
              f"{cell('psutil', part, way)} | {ratio(part, way)} |")
PY
