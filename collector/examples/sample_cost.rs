//! What one host sample costs: perfwatch's `/proc` sampler against sysinfo refreshing the same
//! parts (`scripts/bench-sample.sh` adds psutil and prints the tables; not part of CI).
//!
//! `cargo run --release -p perfwatch-collector --example sample_cost -- [N] [PACED]`
//!
//! Every part alone, the full sample, and the top processes (at its own, slower cadence in
//! the collector) are timed two ways:
//!
//! - `tight`: `N` calls back to back (default 1000; the top processes `N / 20`), warm caches;
//! - `paced`: `PACED` calls (default 25) 200 ms apart, only the calls timed, the way a sampler
//!   really runs. On a VM the first system calls after a sleep are several times slower, so
//!   this is the cost that matters. sysinfo reads `/proc/stat` only when 200 ms have passed
//!   since its last reading, so its CPU part and full sample exist paced only.
//!
//! Prints one JSON object: per tool, part and way, the mean wall time and the mean CPU time
//! (`CLOCK_PROCESS_CPUTIME_ID`: every thread, so sysinfo's worker threads count) of one call,
//! in µs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use perfwatch_collector::host::{Sampler, TopSampler, MIN_CPU_INTERVAL};
use serde_json::{json, Map, Value};
use sysinfo::{
    CpuRefreshKind, DiskRefreshKind, Disks, MemoryRefreshKind, Networks, Pid, ProcessRefreshKind,
    ProcessesToUpdate, System,
};

/// The parts, in the order of the table.
const PARTS: [&str; 7] = [
    "cpu", "memory", "disks", "network", "process", "full", "top",
];

/// Processes listed by the top-processes part (each of the two lists).
const TOP_N: usize = 10;

/// The gap between paced calls (sysinfo's minimum CPU interval, the same as perfwatch's).
const GAP: Duration = MIN_CPU_INTERVAL;

/// CPU time of the whole process so far, in nanoseconds.
fn cpu_time_ns() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable `timespec` for the duration of the call.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    now.tv_sec as f64 * 1e9 + now.tv_nsec as f64
}

fn cost(wall_us: f64, cpu_us: f64, calls: usize) -> Value {
    let round = |v: f64| (v / calls.max(1) as f64 * 100.0).round() / 100.0;
    json!({ "wall_us": round(wall_us), "cpu_us": round(cpu_us) })
}

/// `f` called `n` times back to back, after a short warm-up.
fn tight(n: usize, mut f: impl FnMut()) -> Value {
    for _ in 0..n.min(20) {
        f();
    }
    let (wall, cpu) = (Instant::now(), cpu_time_ns());
    for _ in 0..n {
        f();
    }
    cost(
        wall.elapsed().as_secs_f64() * 1e6,
        (cpu_time_ns() - cpu) / 1e3,
        n,
    )
}

/// `f` called `n` times, [`GAP`] apart, after one untimed call; only the calls are timed.
fn paced(n: usize, mut f: impl FnMut()) -> Value {
    f();
    let (mut wall, mut cpu) = (0.0, 0.0);
    for _ in 0..n {
        std::thread::sleep(GAP);
        let (wall_start, cpu_start) = (Instant::now(), cpu_time_ns());
        f();
        wall += wall_start.elapsed().as_secs_f64() * 1e6;
        cpu += (cpu_time_ns() - cpu_start) / 1e3;
    }
    cost(wall, cpu, n)
}

fn arg(index: usize, default: usize) -> usize {
    std::env::args()
        .nth(index)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// perfwatch's samplers, one part at a time.
struct Perfwatch {
    sampler: Sampler,
    top: TopSampler,
}

impl Perfwatch {
    /// `tight`: every call reads `/proc/stat` (no minimum interval), as a sample taken once a
    /// second does.
    fn new(tight: bool) -> Self {
        let interval = if tight {
            Duration::ZERO
        } else {
            MIN_CPU_INTERVAL
        };
        Self {
            sampler: Sampler::with_min_cpu_interval(interval),
            top: TopSampler::new(),
        }
    }

    fn run(&mut self, part: &str) {
        let s = &mut self.sampler;
        match part {
            "cpu" => {
                black_box(s.cpu());
            }
            "memory" => {
                black_box(s.memory());
            }
            "disks" => {
                black_box(s.disks());
            }
            "network" => {
                black_box(s.network());
            }
            "process" => {
                black_box(s.process());
            }
            "full" => {
                black_box(s.sample(0));
            }
            _ => {
                black_box(self.top.sample(TOP_N));
            }
        }
    }
}

/// sysinfo refreshing what perfwatch reads, one part at a time.
struct Sysinfo {
    system: System,
    all: System,
    disks: Disks,
    networks: Networks,
    pid: Pid,
}

impl Sysinfo {
    fn new() -> Option<Self> {
        let mut this = Self {
            system: System::new().ok()?,
            all: System::new().ok()?,
            disks: Disks::new_with_refreshed_list().ok()?,
            networks: Networks::new_with_refreshed_list().ok()?,
            pid: sysinfo::get_current_pid().ok()?,
        };
        // The first CPU refresh also reads /proc/cpuinfo for the brands: out of the timings.
        this.run("cpu");
        Some(this)
    }

    fn run(&mut self, part: &str) {
        match part {
            // Usage of every CPU and the load average; no frequency (perfwatch reads it once a
            // minute).
            "cpu" => {
                self.system
                    .refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
                black_box((self.system.global_cpu_usage(), System::load_average().ok()));
            }
            "memory" => {
                self.system
                    .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
                black_box((self.system.available_memory(), self.system.free_swap()));
            }
            "disks" => {
                self.disks
                    .refresh_specifics(true, DiskRefreshKind::nothing().with_storage());
                black_box(self.disks.iter().map(|d| d.available_space()).sum::<u64>());
            }
            "network" => {
                self.networks.refresh(true);
                black_box(self.networks.values().map(|n| n.received()).sum::<u64>());
            }
            // CPU, memory, threads (tasks), open descriptors, run time.
            "process" => {
                self.system.refresh_processes_specifics(
                    ProcessesToUpdate::Some(&[self.pid]),
                    true,
                    ProcessRefreshKind::nothing()
                        .with_cpu()
                        .with_memory()
                        .with_tasks(),
                );
                if let Some(p) = self.system.process(self.pid) {
                    black_box((
                        p.cpu_usage(),
                        p.memory(),
                        p.tasks().map(|t| t.len()),
                        p.open_files(),
                        p.run_time(),
                    ));
                }
            }
            "full" => {
                for part in ["cpu", "memory", "disks", "network", "process"] {
                    self.run(part);
                }
            }
            _ => {
                self.all.refresh_processes_specifics(
                    ProcessesToUpdate::All,
                    true,
                    ProcessRefreshKind::nothing().with_cpu().with_memory(),
                );
                let mut by_cpu: Vec<_> = self.all.processes().values().collect();
                by_cpu.sort_by(|a, b| b.cpu_usage().total_cmp(&a.cpu_usage()));
                let mut by_memory = by_cpu.clone();
                by_memory.sort_by_key(|p| std::cmp::Reverse(p.memory()));
                by_cpu.truncate(TOP_N);
                by_memory.truncate(TOP_N);
                black_box((by_cpu, by_memory));
            }
        }
    }
}

fn main() {
    let n = arg(1, 1000);
    let paced_n = arg(2, 25);
    let calls = |part: &str| if part == "top" { (n / 20).max(1) } else { n };

    let mut ours = Map::new();
    for part in PARTS {
        let mut tight_tool = Perfwatch::new(true);
        let mut paced_tool = Perfwatch::new(false);
        ours.insert(
            part.into(),
            json!({
                "tight": tight(calls(part), || tight_tool.run(part)),
                "paced": paced(paced_n, || paced_tool.run(part)),
            }),
        );
    }

    let mut theirs = Map::new();
    for part in PARTS {
        let (Some(mut tight_tool), Some(mut paced_tool)) = (Sysinfo::new(), Sysinfo::new()) else {
            break;
        };
        // Back to back, sysinfo skips its CPU reading: no tight figure for those parts.
        let gated = part == "cpu" || part == "full";
        let tight_cost = if gated {
            Value::Null
        } else {
            tight(calls(part), || tight_tool.run(part))
        };
        theirs.insert(
            part.into(),
            json!({ "tight": tight_cost, "paced": paced(paced_n, || paced_tool.run(part)) }),
        );
    }

    let sample = Sampler::new().sample(0);
    let processes = TopSampler::new().sample(usize::MAX).by_cpu.len();
    let report = json!({
        "n": n, "paced_n": paced_n,
        "cores": sample.cpu.cores,
        "interfaces": sample.network.len(),
        "disks": sample.disks.len(),
        "processes": processes,
        "perfwatch": ours,
        "sysinfo": theirs,
    });
    println!("{report}");
}
