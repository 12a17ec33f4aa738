//! One host sample: CPU, memory, disks, network and the collector's own process, read from
//! `/proc` with the previous counters kept for the rates.
//!
//! Rates and shares are measured over the monotonic clock ([`Instant`]), never over the
//! wall-clock `at_ms` the caller stamps the sample with (NTP may step that).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::procfs::{self, CpuStat, CpuTimes, Mount, MountWatch, NetCounters, ProcFile};

/// The minimum interval between two CPU readings for a meaningful share (sysinfo's
/// `MINIMUM_CPU_UPDATE_INTERVAL`, 200 ms on Linux): a reading closer than that to the previous
/// keeps the previous share. With `USER_HZ` at 100 a shorter interval counts too few ticks.
pub const MIN_CPU_INTERVAL: Duration = Duration::from_millis(200);

/// How often the CPU frequency is read again: `/proc/cpuinfo` costs about 40 µs, more than
/// the rest of a sample together.
const FREQUENCY_REFRESH: Duration = Duration::from_secs(60);

/// One reading of the host and of the collector's own process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostSample {
    /// When the sample was taken, epoch milliseconds (as the caller stamped it).
    pub at_ms: i64,
    /// Processor use and load.
    pub cpu: CpuSample,
    /// Memory and swap.
    pub memory: MemorySample,
    /// Mounted, writable, real filesystems.
    pub disks: Vec<DiskSample>,
    /// Network interfaces, in the kernel's order.
    pub network: Vec<NetworkSample>,
    /// The collector's own process.
    pub process: ProcessSample,
}

/// Processor use and load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuSample {
    /// Busy share of all CPUs, 0–100; `None` until two readings at least [`MIN_CPU_INTERVAL`]
    /// apart. Busy is everything but idle, iowait and steal.
    pub usage_percent: Option<f64>,
    /// Busy share of each online CPU, in CPU order; empty until then.
    pub per_core_percent: Vec<f64>,
    /// Load average over 1 minute.
    pub load_1: Option<f64>,
    /// Load average over 5 minutes.
    pub load_5: Option<f64>,
    /// Load average over 15 minutes.
    pub load_15: Option<f64>,
    /// Online logical CPUs.
    pub cores: usize,
    /// Current frequency (first core, or the mean of `/proc/cpuinfo`), read once a minute.
    pub frequency_mhz: Option<u64>,
}

/// Memory and swap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemorySample {
    /// Installed memory as the kernel sees it.
    pub total_bytes: u64,
    /// Memory available for new work without swapping (`MemAvailable`).
    pub available_bytes: u64,
    /// `total - available`.
    pub used_bytes: u64,
    /// `(1 - available / total) × 100`; 0 when the total is 0.
    pub usage_percent: f64,
    /// Swap space.
    pub swap_total_bytes: u64,
    /// Swap in use (`total - free`).
    pub swap_used_bytes: u64,
    /// `used / total × 100`; 0 without swap.
    pub swap_usage_percent: f64,
}

/// One mounted filesystem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskSample {
    /// Where it is mounted.
    pub mount_point: String,
    /// Its type (`ext4`).
    pub filesystem: String,
    /// Size.
    pub total_bytes: u64,
    /// Space an unprivileged process can still use.
    pub available_bytes: u64,
    /// `(1 - available / total) × 100` (reserved blocks count as used, as for a user).
    pub usage_percent: f64,
}

/// One network interface. Rates are per second over the interval since the previous sample:
/// 0 on the first reading and for a counter that went down (interface re-created, counter
/// reset), never negative or huge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSample {
    /// The interface's name.
    pub interface: String,
    /// Bytes received since the interface was created.
    pub rx_bytes_total: u64,
    /// Bytes sent since the interface was created.
    pub tx_bytes_total: u64,
    /// Bytes received per second.
    pub rx_bytes_per_s: f64,
    /// Bytes sent per second.
    pub tx_bytes_per_s: f64,
    /// Packets received per second.
    pub rx_packets_per_s: f64,
    /// Packets sent per second.
    pub tx_packets_per_s: f64,
    /// Receive errors per second.
    pub rx_errors_per_s: f64,
    /// Transmit errors per second.
    pub tx_errors_per_s: f64,
    /// Received packets dropped per second.
    pub rx_drops_per_s: f64,
    /// Packets dropped on sending per second.
    pub tx_drops_per_s: f64,
}

/// The collector's own process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessSample {
    /// Its process id.
    pub pid: u32,
    /// CPU time over wall time since the previous reading, as a share of ONE core (it may pass
    /// 100 on several cores); `None` on the first reading. Like the host's share it needs
    /// readings [`MIN_CPU_INTERVAL`] apart; a closer one keeps the previous value.
    pub cpu_percent: Option<f64>,
    /// Resident set size (`VmRSS`).
    pub resident_bytes: u64,
    /// Virtual memory size (`VmSize`).
    pub virtual_bytes: u64,
    /// Threads.
    pub threads: u64,
    /// Open file descriptors, the sampler's own six kept-open `/proc` files included.
    pub open_fds: u64,
    /// Seconds since the process started.
    pub uptime_seconds: u64,
}

/// Takes [`HostSample`]s, keeping the previous counters for the rates and its `/proc` files
/// open between samples. On a 2-core VM a full sample costs about 20 µs back to back and
/// 150 µs after a 200 ms sleep, when the kernel's caches are cold (`scripts/bench-sample.sh`).
/// Off Linux every `/proc` reading fails and the sample holds zeros, `None`s and empty lists.
#[derive(Debug)]
pub struct Sampler {
    files: ProcFiles,
    mounts: MountWatch,
    /// Scratch space for file contents, reused by every reading.
    buf: Vec<u8>,
    min_cpu_interval: Duration,
    ticks_per_second: f64,
    page_size: u64,
    cpu: CpuState,
    frequency: Option<(Instant, Option<u64>)>,
    /// The filesystems worth a `statvfs`, chosen again when the mount table changes.
    disks: Vec<Mount>,
    network: Option<(Instant, HashMap<String, NetCounters>)>,
    process: ProcessState,
    pid: u32,
}

#[derive(Debug)]
struct ProcFiles {
    stat: ProcFile,
    loadavg: ProcFile,
    meminfo: ProcFile,
    net_dev: ProcFile,
    self_stat: ProcFile,
}

#[derive(Debug, Default)]
struct CpuState {
    previous: Option<(Instant, CpuStat)>,
    usage: Option<f64>,
    per_core: Vec<f64>,
    cores: usize,
}

#[derive(Debug, Default)]
struct ProcessState {
    /// When and how many ticks (user + system) at the previous share's baseline.
    previous: Option<(Instant, u64)>,
    cpu_percent: Option<f64>,
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Sampler {
    /// A sampler with no previous reading: the first sample has no CPU shares and zero rates.
    pub fn new() -> Self {
        Self::with_min_cpu_interval(MIN_CPU_INTERVAL)
    }

    /// A sampler whose CPU shares need readings `interval` apart instead of
    /// [`MIN_CPU_INTERVAL`]. For benchmarks: with `Duration::ZERO` every sample reads
    /// `/proc/stat`, as a sampler running once a second does.
    pub fn with_min_cpu_interval(interval: Duration) -> Self {
        Self {
            files: ProcFiles {
                stat: ProcFile::new("/proc/stat"),
                loadavg: ProcFile::new("/proc/loadavg"),
                meminfo: ProcFile::new("/proc/meminfo"),
                net_dev: ProcFile::new("/proc/net/dev"),
                self_stat: ProcFile::new("/proc/self/stat"),
            },
            mounts: MountWatch::default(),
            buf: Vec::new(),
            min_cpu_interval: interval,
            // Exact in f64: tick rates are small integers.
            ticks_per_second: procfs::clock_ticks_per_second() as f64,
            page_size: procfs::page_size(),
            cpu: CpuState::default(),
            frequency: None,
            disks: Vec::new(),
            network: None,
            process: ProcessState::default(),
            pid: std::process::id(),
        }
    }

    /// Reads everything, stamped `at_ms` (epoch milliseconds).
    pub fn sample(&mut self, at_ms: i64) -> HostSample {
        HostSample {
            at_ms,
            cpu: self.cpu(),
            memory: self.memory(),
            disks: self.disks(),
            network: self.network(),
            process: self.process(),
        }
    }

    /// The CPU part alone: `/proc/stat` (when [`MIN_CPU_INTERVAL`] has passed), `/proc/loadavg`
    /// and, once a minute, the frequency.
    pub fn cpu(&mut self) -> CpuSample {
        let now = Instant::now();
        let due = self
            .cpu
            .previous
            .as_ref()
            .is_none_or(|(at, _)| now.saturating_duration_since(*at) >= self.min_cpu_interval);
        if due {
            if let Some(stat) = self
                .files
                .stat
                .read(&mut self.buf)
                .and_then(|text| procfs::parse_stat(&text))
            {
                self.cpu.update(now, stat);
            }
        }
        let load = self
            .files
            .loadavg
            .read(&mut self.buf)
            .and_then(|text| procfs::parse_loadavg(&text));
        let frequency = match self.frequency {
            Some((at, mhz)) if now.saturating_duration_since(at) < FREQUENCY_REFRESH => mhz,
            _ => {
                let mhz = procfs::read_cpu_frequency_mhz();
                self.frequency = Some((now, mhz));
                mhz
            }
        };
        CpuSample {
            usage_percent: self.cpu.usage,
            per_core_percent: self.cpu.per_core.clone(),
            load_1: load.map(|l| l[0]),
            load_5: load.map(|l| l[1]),
            load_15: load.map(|l| l[2]),
            cores: self.cpu.cores,
            frequency_mhz: frequency,
        }
    }

    /// The memory part alone: `/proc/meminfo`.
    pub fn memory(&mut self) -> MemorySample {
        let info = self
            .files
            .meminfo
            .read(&mut self.buf)
            .map(|text| procfs::parse_meminfo(&text))
            .unwrap_or_default();
        let total = info.total_bytes.unwrap_or(0);
        let available = info.available_bytes.unwrap_or(0).min(total);
        let swap_total = info.swap_total_bytes.unwrap_or(0);
        let swap_used = swap_total.saturating_sub(info.swap_free_bytes.unwrap_or(swap_total));
        MemorySample {
            total_bytes: total,
            available_bytes: available,
            used_bytes: total - available,
            usage_percent: percent(total - available, total),
            swap_total_bytes: swap_total,
            swap_used_bytes: swap_used,
            swap_usage_percent: percent(swap_used, swap_total),
        }
    }

    /// The disks part alone: a `statvfs` per chosen filesystem (the mount table is read again
    /// only when it changed).
    pub fn disks(&mut self) -> Vec<DiskSample> {
        if let Some(mounts) = self.mounts.read_if_changed(&mut self.buf) {
            self.disks = select_disks(mounts);
        }
        self.disks
            .iter()
            .filter_map(|mount| {
                let (total, available) = procfs::filesystem_space(&mount.mount_point)?;
                let available = available.min(total);
                Some(DiskSample {
                    mount_point: mount.mount_point.clone(),
                    filesystem: mount.filesystem.clone(),
                    total_bytes: total,
                    available_bytes: available,
                    usage_percent: percent(total - available, total),
                })
            })
            .collect()
    }

    /// The network part alone: `/proc/net/dev`, rates against the previous reading.
    pub fn network(&mut self) -> Vec<NetworkSample> {
        let now = Instant::now();
        let Some(current) = self
            .files
            .net_dev
            .read(&mut self.buf)
            .map(|text| procfs::parse_net_dev(&text))
        else {
            return Vec::new();
        };
        let previous = self.network.take();
        let samples = current
            .iter()
            .map(|now_counters| {
                let before = previous.as_ref().and_then(|(at, counters)| {
                    let secs = now.saturating_duration_since(*at).as_secs_f64();
                    Some((secs, counters.get(&now_counters.interface)?))
                });
                network_sample(before, now_counters)
            })
            .collect();
        let counters = current
            .into_iter()
            .map(|c| (c.interface.clone(), c))
            .collect();
        self.network = Some((now, counters));
        samples
    }

    /// The own-process part alone: `/proc/self/stat` and the descriptor count.
    pub fn process(&mut self) -> ProcessSample {
        let now = Instant::now();
        let stat = self
            .files
            .self_stat
            .read(&mut self.buf)
            .and_then(|text| procfs::parse_pid_stat(&text))
            .unwrap_or_default();
        let ticks = stat.utime_ticks.saturating_add(stat.stime_ticks);
        match self.process.previous {
            None => self.process.previous = Some((now, ticks)),
            Some((at, before)) => {
                let secs = now.saturating_duration_since(at).as_secs_f64();
                if secs >= self.min_cpu_interval.as_secs_f64() && secs > 0.0 {
                    let cpu_secs = ticks.saturating_sub(before) as f64 / self.ticks_per_second;
                    self.process.cpu_percent = Some(cpu_secs / secs * 100.0);
                    self.process.previous = Some((now, ticks));
                }
            }
        }
        let started = stat.start_ticks as f64 / self.ticks_per_second;
        let uptime = procfs::seconds_since_boot().map_or(0.0, |boot| boot - started);
        ProcessSample {
            pid: self.pid,
            cpu_percent: self.process.cpu_percent,
            resident_bytes: stat.resident_pages.saturating_mul(self.page_size),
            virtual_bytes: stat.virtual_bytes,
            threads: stat.threads,
            open_fds: procfs::open_fd_count().unwrap_or(0),
            // Rounded down; a float-to-int cast saturates (a negative uptime gives 0).
            uptime_seconds: uptime as u64,
        }
    }
}

impl CpuState {
    /// Takes a new reading: shares against the previous one, which it then replaces.
    fn update(&mut self, now: Instant, stat: CpuStat) {
        if let Some((_, before)) = &self.previous {
            let Some(usage) = busy_percent(&before.total, &stat.total) else {
                // Not one tick passed: keep the old baseline and share.
                return;
            };
            self.usage = Some(usage);
            self.per_core = stat
                .per_cpu
                .iter()
                .enumerate()
                .map(|(i, (id, times))| {
                    // CPUs come in the same order unless one went on- or offline.
                    let same = before.per_cpu.get(i).filter(|(b, _)| b == id);
                    same.or_else(|| before.per_cpu.iter().find(|(b, _)| b == id))
                        .and_then(|(_, earlier)| busy_percent(earlier, times))
                        .unwrap_or(0.0)
                })
                .collect();
        }
        self.cores = stat.per_cpu.len();
        self.previous = Some((now, stat));
    }
}

/// The busy share between two readings of one CPU line, 0–100: busy is everything but idle,
/// iowait and steal. Each counter's change is taken on its own and one that went down (iowait
/// can) counts as 0. `None` when no tick passed.
pub fn busy_percent(earlier: &CpuTimes, later: &CpuTimes) -> Option<f64> {
    let d = |a: u64, b: u64| b.saturating_sub(a);
    let idle = d(earlier.idle, later.idle)
        .saturating_add(d(earlier.iowait, later.iowait))
        .saturating_add(d(earlier.steal, later.steal));
    let busy = d(earlier.user, later.user)
        .saturating_add(d(earlier.nice, later.nice))
        .saturating_add(d(earlier.system, later.system))
        .saturating_add(d(earlier.irq, later.irq))
        .saturating_add(d(earlier.softirq, later.softirq));
    let total = busy.saturating_add(idle);
    (total > 0).then(|| (busy as f64 / total as f64 * 100.0).clamp(0.0, 100.0))
}

/// A counter's change per second: 0 when it went down (a reset or a re-created interface) or
/// when no time passed.
pub fn counter_rate(previous: u64, current: u64, elapsed_secs: f64) -> f64 {
    if current < previous || !(elapsed_secs > 0.0 && elapsed_secs.is_finite()) {
        return 0.0;
    }
    (current - previous) as f64 / elapsed_secs
}

/// One interface's sample from its counters and, when it was seen before, the seconds since
/// and the counters then.
fn network_sample(before: Option<(f64, &NetCounters)>, now: &NetCounters) -> NetworkSample {
    let rate = |field: fn(&NetCounters) -> u64| {
        before.map_or(0.0, |(secs, earlier)| {
            counter_rate(field(earlier), field(now), secs)
        })
    };
    NetworkSample {
        interface: now.interface.clone(),
        rx_bytes_total: now.rx_bytes,
        tx_bytes_total: now.tx_bytes,
        rx_bytes_per_s: rate(|c| c.rx_bytes),
        tx_bytes_per_s: rate(|c| c.tx_bytes),
        rx_packets_per_s: rate(|c| c.rx_packets),
        tx_packets_per_s: rate(|c| c.tx_packets),
        rx_errors_per_s: rate(|c| c.rx_errors),
        tx_errors_per_s: rate(|c| c.tx_errors),
        rx_drops_per_s: rate(|c| c.rx_drops),
        tx_drops_per_s: rate(|c| c.tx_drops),
    }
}

/// `part / whole × 100`, 0 when `whole` is 0.
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 100.0).clamp(0.0, 100.0)
    }
}

/// Filesystems that hold no disk space of their own (kernel interfaces, memory, containers'
/// plumbing, read-only images).
const PSEUDO_FILESYSTEMS: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fusectl",
    "hugetlbfs",
    "iso9660",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "rootfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
];

/// Network filesystems: `statvfs` on a hard-mounted one whose server is gone blocks, and
/// the sampler must never hang.
const NETWORK_FILESYSTEMS: &[&str] = &[
    "9p",
    "afs",
    "ceph",
    "cifs",
    "fuse.sshfs",
    "glusterfs",
    "lustre",
    "ncpfs",
    "nfs",
    "nfs4",
    "smb3",
    "smbfs",
];

/// The filesystems a host sample reports, sorted by mount point: pseudo and network
/// filesystems and read-only mounts are left out, except an overlay on `/` (a container's
/// root); of a device mounted several times (bind mounts) the shortest mount point stays.
pub fn select_disks(mounts: Vec<Mount>) -> Vec<Mount> {
    let mut chosen: HashMap<String, Mount> = HashMap::new();
    for mount in mounts {
        let container_root = mount.filesystem == "overlay" && mount.mount_point == "/";
        let fs = mount.filesystem.as_str();
        if mount.read_only
            || NETWORK_FILESYSTEMS.contains(&fs)
            || (PSEUDO_FILESYSTEMS.contains(&fs) && !container_root)
        {
            continue;
        }
        let shorter = |kept: &Mount| {
            (mount.mount_point.len(), &mount.mount_point)
                < (kept.mount_point.len(), &kept.mount_point)
        };
        if chosen.get(&mount.device).is_none_or(shorter) {
            chosen.insert(mount.device.clone(), mount);
        }
    }
    let mut disks: Vec<Mount> = chosen.into_values().collect();
    disks.sort_by(|a, b| a.mount_point.cmp(&b.mount_point));
    disks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(user: u64, system: u64, idle: u64, iowait: u64, steal: u64) -> CpuTimes {
        CpuTimes {
            user,
            system,
            idle,
            iowait,
            steal,
            ..CpuTimes::default()
        }
    }

    #[test]
    fn busy_share_leaves_out_idle_iowait_and_steal() {
        let earlier = times(100, 100, 100, 100, 100);
        let later = times(130, 110, 140, 110, 110);
        // busy 40 of 100 ticks.
        assert_eq!(busy_percent(&earlier, &later), Some(40.0));
        assert_eq!(busy_percent(&earlier, &earlier), None);
    }

    #[test]
    fn busy_share_with_a_counter_going_down_stays_in_bounds() {
        let earlier = times(100, 100, 100, 500, 0);
        let later = times(150, 100, 150, 10, 0);
        assert_eq!(busy_percent(&earlier, &later), Some(50.0));
        let only_down = times(100, 100, 100, 10, 0);
        assert_eq!(busy_percent(&earlier, &only_down), None);
    }

    #[test]
    fn a_counter_reset_gives_zero_not_a_negative_or_huge_rate() {
        assert_eq!(counter_rate(1000, 10, 1.0), 0.0);
        assert_eq!(counter_rate(1000, 3000, 2.0), 1000.0);
        assert_eq!(counter_rate(1000, 3000, 0.0), 0.0);
        assert_eq!(counter_rate(1000, 3000, f64::NAN), 0.0);
        assert_eq!(counter_rate(u64::MAX, 0, 1.0), 0.0);
    }

    #[test]
    fn network_rates_are_zero_on_the_first_reading_and_after_a_reset() {
        let earlier = NetCounters {
            interface: "eth0".into(),
            rx_bytes: 1000,
            tx_bytes: 500,
            rx_packets: 10,
            ..NetCounters::default()
        };
        let later = NetCounters {
            rx_bytes: 10,
            tx_bytes: 2500,
            rx_packets: 30,
            ..earlier.clone()
        };
        let first = network_sample(None, &later);
        assert_eq!((first.rx_bytes_per_s, first.tx_bytes_per_s), (0.0, 0.0));
        let second = network_sample(Some((2.0, &earlier)), &later);
        assert_eq!(second.rx_bytes_per_s, 0.0);
        assert_eq!(second.tx_bytes_per_s, 1000.0);
        assert_eq!(second.rx_packets_per_s, 10.0);
        assert_eq!(second.rx_bytes_total, 10);
    }

    fn mount(device: &str, mount_point: &str, filesystem: &str, read_only: bool) -> Mount {
        Mount {
            device: device.into(),
            mount_point: mount_point.into(),
            filesystem: filesystem.into(),
            read_only,
        }
    }

    #[test]
    fn disks_leave_out_pseudo_network_read_only_and_bind_mounts() {
        let mounts = vec![
            mount("proc", "/proc", "proc", false),
            mount("tmpfs", "/dev/shm", "tmpfs", false),
            mount("cgroup", "/sys/fs/cgroup/cpu", "cgroup", false),
            mount("/dev/vda", "/etc/hosts", "ext4", false),
            mount("/dev/vda", "/", "ext4", false),
            mount("/dev/vda", "/etc/resolv.conf", "ext4", false),
            mount("/dev/vdb", "/data", "xfs", false),
            mount("/dev/loop0", "/snap/core/1", "squashfs", true),
            mount("/dev/vdc", "/mnt/cdrom", "ext4", true),
            mount("server:/export", "/mnt/nfs", "nfs4", false),
            mount(
                "overlay",
                "/var/lib/docker/overlay2/x/merged",
                "overlay",
                false,
            ),
        ];
        let disks = select_disks(mounts);
        let points: Vec<&str> = disks.iter().map(|d| d.mount_point.as_str()).collect();
        assert_eq!(points, ["/", "/data"]);
    }

    #[test]
    fn an_overlay_on_the_root_is_a_containers_disk() {
        let disks = select_disks(vec![
            mount("overlay", "/", "overlay", false),
            mount("shm", "/dev/shm", "tmpfs", false),
        ]);
        assert_eq!(disks.len(), 1);
        assert_eq!(disks[0].filesystem, "overlay");
    }

    #[test]
    fn percent_of_nothing_is_zero() {
        assert_eq!(percent(5, 0), 0.0);
        assert_eq!(percent(1, 4), 25.0);
    }
}
