#!/usr/bin/env python3
"""psutil collecting what perfwatch's host sampler collects, timed the way
collector/examples/sample_cost.rs times perfwatch and sysinfo (run by scripts/bench-sample.sh).

    python bench_sample_psutil.py [N] [PACED]

Every part, the full sample and the top processes: N calls back to back ("tight"; the top
processes N / 20) and PACED calls 200 ms apart ("paced", only the calls timed). Prints one JSON
object with the mean wall time (perf_counter) and CPU time (process_time) of one call, in µs.

The same fields as perfwatch's HostSample: the overall CPU share is the mean of the per-CPU
shares (one psutil call instead of two), and the network rates are computed here from the
previous counters, as a psutil-based sampler has to.
"""
import json
import sys
import time

import psutil

TOP_N = 10
GAP = 0.2
PARTS = ["cpu", "memory", "disks", "network", "process", "full", "top"]

_own = psutil.Process()
_previous_net = None


def cpu():
    per_core = psutil.cpu_percent(percpu=True)
    overall = sum(per_core) / len(per_core) if per_core else None
    return overall, per_core, psutil.getloadavg(), len(per_core)


def memory():
    vm, swap = psutil.virtual_memory(), psutil.swap_memory()
    used = vm.total - vm.available
    return vm.total, vm.available, used, vm.percent, swap.total, swap.used, swap.percent


def disks():
    out = []
    for part in psutil.disk_partitions():
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue
        out.append((part.mountpoint, part.fstype, usage.total, usage.free, usage.percent))
    return out


def network():
    global _previous_net
    now, counters = time.monotonic(), psutil.net_io_counters(pernic=True)
    out = []
    previous = _previous_net
    for name, c in counters.items():
        before = previous[1].get(name) if previous else None
        secs = now - previous[0] if previous else 0.0

        def rate(field):
            if before is None or secs <= 0:
                return 0.0
            delta = getattr(c, field) - getattr(before, field)
            return delta / secs if delta >= 0 else 0.0

        out.append((name, c.bytes_recv, c.bytes_sent, rate("bytes_recv"), rate("bytes_sent"),
                    rate("packets_recv"), rate("packets_sent"), rate("errin"), rate("errout"),
                    rate("dropin"), rate("dropout")))
    _previous_net = (now, counters)
    return out


def process():
    with _own.oneshot():
        memory_info = _own.memory_info()
        return (_own.pid, _own.cpu_percent(), memory_info.rss, memory_info.vms,
                _own.num_threads(), _own.num_fds(), time.time() - _own.create_time())


def full():
    return cpu(), memory(), disks(), network(), process()


def top():
    processes = []
    for p in psutil.process_iter(["name", "cpu_percent", "memory_info"]):
        info = p.info
        rss = info["memory_info"].rss if info["memory_info"] else 0
        processes.append((p.pid, info["name"], info["cpu_percent"] or 0.0, rss))
    by_cpu = sorted(processes, key=lambda p: -p[2])[:TOP_N]
    by_memory = sorted(processes, key=lambda p: -p[3])[:TOP_N]
    return by_cpu, by_memory


def cost(wall_ns, cpu_ns, calls):
    calls = max(calls, 1)
    return {"wall_us": round(wall_ns / 1e3 / calls, 2), "cpu_us": round(cpu_ns / 1e3 / calls, 2)}


def tight(n, f):
    for _ in range(min(n, 20)):
        f()
    wall, cpu_time = time.perf_counter_ns(), time.process_time_ns()
    for _ in range(n):
        f()
    return cost(time.perf_counter_ns() - wall, time.process_time_ns() - cpu_time, n)


def paced(n, f):
    f()
    wall = cpu_time = 0
    for _ in range(n):
        time.sleep(GAP)
        w, c = time.perf_counter_ns(), time.process_time_ns()
        f()
        wall += time.perf_counter_ns() - w
        cpu_time += time.process_time_ns() - c
    return cost(wall, cpu_time, n)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    paced_n = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    functions = {"cpu": cpu, "memory": memory, "disks": disks, "network": network,
                 "process": process, "full": full, "top": top}
    parts = {}
    for part in PARTS:
        calls = max(n // 20, 1) if part == "top" else n
        f = functions[part]
        parts[part] = {"tight": tight(calls, f), "paced": paced(paced_n, f)}
    print(json.dumps({"psutil_version": psutil.__version__, "python": sys.version.split()[0],
                      "psutil": parts}))


if __name__ == "__main__":
    main()
