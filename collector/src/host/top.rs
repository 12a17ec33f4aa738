//! The host's busiest processes, by CPU and by memory, from `/proc/[pid]/stat`.
//!
//! Reading every process costs a file per process (about 6 µs each), so this runs at a slower
//! cadence than the host sample. Only the previous reading's CPU ticks are kept.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::procfs;

/// The top processes of one reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopProcesses {
    /// The busiest by CPU share, busiest first.
    pub by_cpu: Vec<ProcessEntry>,
    /// The largest by resident memory, largest first.
    pub by_memory: Vec<ProcessEntry>,
}

/// One process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessEntry {
    /// Its process id.
    pub pid: u32,
    /// The kernel's name for it (`comm`, at most 15 bytes).
    pub name: String,
    /// CPU time over wall time since the previous reading, as a share of one core (it may pass
    /// 100); 0 on the first reading and for a process that started since.
    pub cpu_percent: f64,
    /// Resident set size.
    pub resident_bytes: u64,
}

/// Reads every process's CPU ticks and resident size; keeps the ticks for the next reading.
#[derive(Debug)]
pub struct TopSampler {
    /// pid → (start ticks, CPU ticks) at the previous reading. The start time tells a reused
    /// pid from the process that had it.
    previous: HashMap<u32, (u64, u64)>,
    previous_at: Option<Instant>,
    buf: Vec<u8>,
    path: String,
    ticks_per_second: f64,
    page_size: u64,
}

impl Default for TopSampler {
    fn default() -> Self {
        Self::new()
    }
}

impl TopSampler {
    /// A sampler with no previous reading.
    pub fn new() -> Self {
        Self {
            previous: HashMap::new(),
            previous_at: None,
            buf: Vec::new(),
            path: String::with_capacity(32),
            // Exact in f64: tick rates are small integers.
            ticks_per_second: procfs::clock_ticks_per_second() as f64,
            page_size: procfs::page_size(),
        }
    }

    /// The `n` busiest processes by CPU and the `n` largest by memory. A process that exits
    /// while it is read is skipped. Off Linux (no `/proc`) both lists are empty.
    pub fn sample(&mut self, n: usize) -> TopProcesses {
        let now = Instant::now();
        let elapsed = self
            .previous_at
            .map(|at| now.saturating_duration_since(at).as_secs_f64())
            .filter(|secs| *secs > 0.0);
        let mut current = HashMap::with_capacity(self.previous.len());
        let mut entries = Vec::with_capacity(self.previous.len());
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for entry in dir.flatten() {
                let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                    continue;
                };
                if let Some((ticks, entry)) = self.read_process(pid, elapsed) {
                    current.insert(pid, ticks);
                    entries.push(entry);
                }
            }
        }
        self.previous = current;
        self.previous_at = Some(now);

        let mut by_cpu = entries.clone();
        by_cpu.sort_by(|a, b| {
            b.cpu_percent
                .total_cmp(&a.cpu_percent)
                .then(b.resident_bytes.cmp(&a.resident_bytes))
                .then(a.pid.cmp(&b.pid))
        });
        by_cpu.truncate(n);
        entries.sort_by(|a, b| {
            b.resident_bytes
                .cmp(&a.resident_bytes)
                .then(a.pid.cmp(&b.pid))
        });
        entries.truncate(n);
        TopProcesses {
            by_cpu,
            by_memory: entries,
        }
    }

    /// One process's `(start, CPU ticks)` and entry; `None` when it is gone or unreadable.
    fn read_process(
        &mut self,
        pid: u32,
        elapsed: Option<f64>,
    ) -> Option<((u64, u64), ProcessEntry)> {
        self.path.clear();
        // Writing to a String cannot fail.
        let _ = write!(self.path, "/proc/{pid}/stat");
        let len = procfs::read_all_at(&File::open(&self.path).ok()?, &mut self.buf)?;
        let text = String::from_utf8_lossy(&self.buf[..len]);
        let stat = procfs::parse_pid_stat(&text)?;
        let ticks = stat.utime_ticks.saturating_add(stat.stime_ticks);
        let cpu_percent = match (elapsed, self.previous.get(&pid)) {
            (Some(secs), Some(&(start, before))) if start == stat.start_ticks => {
                ticks.saturating_sub(before) as f64 / self.ticks_per_second / secs * 100.0
            }
            _ => 0.0,
        };
        let entry = ProcessEntry {
            pid,
            name: procfs::parse_pid_name(&text).unwrap_or_default().to_owned(),
            cpu_percent,
            resident_bytes: stat.resident_pages.saturating_mul(self.page_size),
        };
        Some(((stat.start_ticks, ticks), entry))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_first_reading_has_no_cpu_shares_and_the_lists_are_bounded() {
        let mut sampler = TopSampler::new();
        let first = sampler.sample(5);
        assert!(first.by_cpu.len() <= 5 && !first.by_cpu.is_empty());
        assert!(first.by_cpu.iter().all(|p| p.cpu_percent == 0.0));
        assert!(first
            .by_memory
            .windows(2)
            .all(|w| w[0].resident_bytes >= w[1].resident_bytes));

        // Burn some CPU in this process, then it is among the busiest.
        let started = Instant::now();
        let mut x = 0u64;
        while started.elapsed() < std::time::Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let second = sampler.sample(usize::MAX);
        let own = second
            .by_cpu
            .iter()
            .find(|p| p.pid == std::process::id())
            .unwrap();
        assert!(own.cpu_percent > 0.0, "{own:?}");
        assert!(own.resident_bytes > 0);
        assert!(!own.name.is_empty());
        assert!(second
            .by_cpu
            .windows(2)
            .all(|w| w[0].cpu_percent >= w[1].cpu_percent));
        assert_eq!(second.by_cpu.len(), second.by_memory.len());
    }
}
