//! The Linux files the host sampler reads, each parsed by a pure function over the file's text
//! (so the tests feed fixtures) next to a reader of the real file.
//!
//! Parsing never panics: a missing or malformed field gives `None` or skips that line. The
//! system calls (`sysconf`, `statvfs`, `poll`, `clock_gettime`) are the only `unsafe` in the
//! sampler, each a plain FFI call on values this module owns.
//!
//! Costs measured on a 2-core VM (kept-open descriptor / fresh open): `/proc/stat` 6 / 13 µs,
//! `/proc/meminfo` 6 / 11 µs, `/proc/net/dev` 7 / 15 µs, `/proc/self/stat` 2 / 6 µs,
//! `/proc/self/status` 6 / 10 µs, `/proc/self/mounts` 16 / 20 µs, `/proc/cpuinfo` 26 / 41 µs.
//! Hence [`ProcFile`] keeps its descriptor and reads with `pread`, the mount table is re-read
//! only when the kernel says it changed ([`MountWatch`]), the own process comes from `stat`
//! alone (it has the thread count and sizes too) and the CPU frequency is read rarely.

use std::borrow::Cow;
use std::ffi::CString;
use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;

/// CPU time of one `/proc/stat` line, in clock ticks (`USER_HZ`).
///
/// `guest` and `guest_nice` are left out on purpose: the kernel already counts them in `user`
/// and `nice`, so adding them would count guest time twice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// Time in user mode (guest time included).
    pub user: u64,
    /// Time in user mode at low priority (niced guest time included).
    pub nice: u64,
    /// Time in kernel mode.
    pub system: u64,
    /// Idle time.
    pub idle: u64,
    /// Idle time with I/O outstanding (not reliable: it may even go down).
    pub iowait: u64,
    /// Time servicing hardware interrupts.
    pub irq: u64,
    /// Time servicing softirqs.
    pub softirq: u64,
    /// Time the hypervisor ran something else while this VM wanted the CPU.
    pub steal: u64,
}

/// The CPU lines of `/proc/stat`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuStat {
    /// The aggregate `cpu` line.
    pub total: CpuTimes,
    /// The `cpuN` lines (online CPUs only), with their number N.
    pub per_cpu: Vec<(u32, CpuTimes)>,
}

/// `/proc/stat`'s CPU lines; `None` without a well-formed aggregate `cpu` line.
pub fn parse_stat(text: &str) -> Option<CpuStat> {
    let mut total = None;
    let mut per_cpu = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(label) = fields.next().and_then(|l| l.strip_prefix("cpu")) else {
            continue;
        };
        let Some(times) = parse_cpu_times(fields) else {
            continue;
        };
        if label.is_empty() {
            total = Some(times);
        } else if let Ok(n) = label.parse::<u32>() {
            per_cpu.push((n, times));
        }
    }
    total.map(|total| CpuStat { total, per_cpu })
}

/// The counters after a `cpu` label: at least user, nice, system and idle (older kernels stop
/// there), the rest 0 when absent; `None` when a present field is not a number.
fn parse_cpu_times<'a>(fields: impl Iterator<Item = &'a str>) -> Option<CpuTimes> {
    let mut values = [0u64; 8];
    let mut count = 0;
    for (slot, field) in values.iter_mut().zip(fields) {
        *slot = field.parse().ok()?;
        count += 1;
    }
    if count < 4 {
        return None;
    }
    let [user, nice, system, idle, iowait, irq, softirq, steal] = values;
    Some(CpuTimes {
        user,
        nice,
        system,
        idle,
        iowait,
        irq,
        softirq,
        steal,
    })
}

/// Reads and parses `/proc/stat`.
pub fn read_stat() -> Option<CpuStat> {
    parse_stat(&read_text("/proc/stat")?)
}

/// The 1-, 5- and 15-minute load averages of `/proc/loadavg`.
pub fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_ascii_whitespace();
    let mut next = || {
        fields
            .next()?
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    Some([next()?, next()?, next()?])
}

/// Reads and parses `/proc/loadavg`.
pub fn read_loadavg() -> Option<[f64; 3]> {
    parse_loadavg(&read_text("/proc/loadavg")?)
}

/// The fields of `/proc/meminfo` the sampler uses, in bytes; `None` when absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemInfo {
    /// `MemTotal`.
    pub total_bytes: Option<u64>,
    /// `MemAvailable`; on kernels before 3.14, which lack it, `MemFree + Buffers + Cached`.
    pub available_bytes: Option<u64>,
    /// `SwapTotal`.
    pub swap_total_bytes: Option<u64>,
    /// `SwapFree`.
    pub swap_free_bytes: Option<u64>,
}

/// Parses `/proc/meminfo` (`Key:   123 kB` lines; unknown or malformed lines are skipped).
pub fn parse_meminfo(text: &str) -> MemInfo {
    let mut info = MemInfo::default();
    let (mut free, mut buffers, mut cached) = (None, None, None);
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let slot = match key.trim() {
            "MemTotal" => &mut info.total_bytes,
            "MemAvailable" => &mut info.available_bytes,
            "SwapTotal" => &mut info.swap_total_bytes,
            "SwapFree" => &mut info.swap_free_bytes,
            "MemFree" => &mut free,
            "Buffers" => &mut buffers,
            "Cached" => &mut cached,
            _ => continue,
        };
        let mut value = rest.split_ascii_whitespace();
        let Some(number) = value.next().and_then(|v| v.parse::<u64>().ok()) else {
            continue;
        };
        *slot = Some(match value.next() {
            Some("kB") => number.saturating_mul(1024),
            _ => number,
        });
    }
    if info.available_bytes.is_none() {
        if let (Some(free), Some(buffers), Some(cached)) = (free, buffers, cached) {
            info.available_bytes = Some(free.saturating_add(buffers).saturating_add(cached));
        }
    }
    info
}

/// Reads and parses `/proc/meminfo`.
pub fn read_meminfo() -> Option<MemInfo> {
    Some(parse_meminfo(&read_text("/proc/meminfo")?))
}

/// One interface's counters from `/proc/net/dev`, totals since the interface was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetCounters {
    /// The interface's name (`eth0`).
    pub interface: String,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Received packets dropped.
    pub rx_drops: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Packets dropped on sending.
    pub tx_drops: u64,
}

/// Parses `/proc/net/dev`: the two header lines and malformed lines are skipped.
pub fn parse_net_dev(text: &str) -> Vec<NetCounters> {
    text.lines().filter_map(parse_net_dev_line).collect()
}

/// `  eth0: 2643957134 107658 0 0 0 0 0 0 6284633 76757 0 0 0 0 0 0`: receive bytes, packets,
/// errs, drop, fifo, frame, compressed, multicast, then transmit bytes, packets, errs, drop, …
/// (an interface name cannot contain `:`; old kernels put no space after it).
fn parse_net_dev_line(line: &str) -> Option<NetCounters> {
    let (name, counters) = line.split_once(':')?;
    let interface = name.trim();
    if interface.is_empty() || interface.contains('|') {
        return None;
    }
    let mut values = [0u64; 12];
    let mut fields = counters.split_ascii_whitespace();
    for slot in &mut values {
        *slot = fields.next()?.parse().ok()?;
    }
    Some(NetCounters {
        interface: interface.to_owned(),
        rx_bytes: values[0],
        rx_packets: values[1],
        rx_errors: values[2],
        rx_drops: values[3],
        tx_bytes: values[8],
        tx_packets: values[9],
        tx_errors: values[10],
        tx_drops: values[11],
    })
}

/// Reads and parses `/proc/net/dev` (the interfaces of this network namespace).
pub fn read_net_dev() -> Option<Vec<NetCounters>> {
    Some(parse_net_dev(&read_text("/proc/net/dev")?))
}

/// The fields of `/proc/[pid]/stat` the sampler uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PidStat {
    /// Clock ticks in user mode (field 14).
    pub utime_ticks: u64,
    /// Clock ticks in kernel mode (field 15).
    pub stime_ticks: u64,
    /// Threads (field 20).
    pub threads: u64,
    /// When the process started, in clock ticks after boot (field 22).
    pub start_ticks: u64,
    /// Virtual memory size in bytes (field 23; `VmSize` of `status`).
    pub virtual_bytes: u64,
    /// Resident set size in pages (field 24; `VmRSS` of `status`).
    pub resident_pages: u64,
}

/// Parses `/proc/[pid]/stat`. The name (field 2) is in parentheses and may itself contain
/// spaces and parentheses, so the fields are counted after the *last* `)`.
pub fn parse_pid_stat(text: &str) -> Option<PidStat> {
    let (_, rest) = text.rsplit_once(')')?;
    // `rest` starts at field 3 (the state): field N is at index N - 3. Missing fields stay
    // empty and fail to parse.
    let mut fields = [""; 22];
    for (slot, field) in fields.iter_mut().zip(rest.split_ascii_whitespace()) {
        *slot = field;
    }
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    Some(PidStat {
        utime_ticks: field(14)?,
        stime_ticks: field(15)?,
        threads: field(20)?,
        start_ticks: field(22)?,
        virtual_bytes: field(23)?,
        // A signed field in the kernel; never negative in practice.
        resident_pages: fields
            .get(24 - 3)
            .and_then(|f| f.parse::<i64>().ok())
            .map_or(0, |v| u64::try_from(v).unwrap_or(0)),
    })
}

/// The process name of `/proc/[pid]/stat` (field 2, the kernel's 15-byte `comm`).
pub fn parse_pid_name(text: &str) -> Option<&str> {
    let start = text.find('(')?;
    let end = text.rfind(')')?;
    text.get(start + 1..end)
}

/// Reads and parses `/proc/self/stat`.
pub fn read_self_stat() -> Option<PidStat> {
    parse_pid_stat(&read_text("/proc/self/stat")?)
}

/// One line of `/proc/self/mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// What is mounted (`/dev/vda1`, `overlay`, `server:/export`).
    pub device: String,
    /// Where (octal escapes such as `\040` for a space decoded).
    pub mount_point: String,
    /// The filesystem type (`ext4`).
    pub filesystem: String,
    /// Mounted with the `ro` option.
    pub read_only: bool,
}

/// Parses `/proc/self/mounts` (lines with fewer than four fields are skipped).
pub fn parse_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            let device = fields.next()?;
            let mount_point = fields.next()?;
            let filesystem = fields.next()?;
            let options = fields.next()?;
            Some(Mount {
                device: unescape_octal(device),
                mount_point: unescape_octal(mount_point),
                filesystem: filesystem.to_owned(),
                read_only: options.split(',').any(|o| o == "ro"),
            })
        })
        .collect()
}

/// Decodes the kernel's `\ooo` escapes (space, tab, newline and backslash in mount fields).
fn unescape_octal(field: &str) -> String {
    if !field.contains('\\') {
        return field.to_owned();
    }
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)))
            .and_then(|d| {
                let value = d.iter().fold(0u32, |v, b| v * 8 + u32::from(b - b'0'));
                u8::try_from(value).ok()
            });
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads and parses `/proc/self/mounts`.
pub fn read_mounts() -> Option<Vec<Mount>> {
    Some(parse_mounts(&read_text("/proc/self/mounts")?))
}

/// The mean of the `cpu MHz` lines of `/proc/cpuinfo` (x86; other architectures lack them).
pub fn parse_cpuinfo_mhz(text: &str) -> Option<f64> {
    let (sum, count) = text
        .lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == "cpu MHz").then_some(())?;
            value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
        })
        .fold((0.0, 0u32), |(sum, count), v| (sum + v, count + 1));
    (count > 0).then(|| sum / f64::from(count))
}

/// The current CPU frequency in MHz: the first core's `cpufreq/scaling_cur_freq` where the
/// kernel has cpufreq (one small sysfs file), else the mean of `/proc/cpuinfo`'s `cpu MHz`
/// (about 40 µs: read it rarely).
pub fn read_cpu_frequency_mhz() -> Option<u64> {
    let sysfs = read_text("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq")
        .and_then(|khz| khz.trim().parse::<u64>().ok())
        .map(|khz| khz / 1000)
        .filter(|mhz| *mhz > 0);
    sysfs.or_else(|| {
        let mhz = parse_cpuinfo_mhz(&read_text("/proc/cpuinfo")?)?;
        // Finite and positive (checked while parsing): the cast only rounds.
        Some(mhz.round() as u64)
    })
}

/// Reads a whole file as text (invalid UTF-8 replaced); `None` when it cannot be read.
pub fn read_text(path: &str) -> Option<String> {
    Some(match String::from_utf8(std::fs::read(path).ok()?) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// A `/proc` file kept open between readings: each reading is a `pread` from offset 0 and one
/// more to see the end, where a fresh read costs an open, a path walk, a `statx` and an
/// `lseek` (std's `read_to_end` sizing its buffer), the reads and a close. Those system calls
/// are what a sample costs after the sampler slept, when the kernel's caches are cold.
///
/// A seq_file (every file here) regenerates its text when read at offset 0 and continues when
/// read where the previous read stopped, so the two `pread`s are exactly an `lseek` to 0 and
/// sequential reads. `/proc/self/…` is resolved when the file is opened: fine for a process
/// that does not fork.
#[derive(Debug)]
pub struct ProcFile {
    path: &'static str,
    file: Option<File>,
}

/// The scratch buffer's first size: every file the sampler reads fits (`/proc/net/dev` needs
/// about 130 bytes an interface; a longer file makes the buffer grow).
const READ_BUFFER: usize = 4096;

impl ProcFile {
    /// A handle on `path`, opened at the first reading.
    pub fn new(path: &'static str) -> Self {
        Self { path, file: None }
    }

    /// The file's current content, read into `buf` (invalid UTF-8 replaced); `None` when it
    /// cannot be read, in which case the next reading opens it afresh.
    pub fn read<'b>(&mut self, buf: &'b mut Vec<u8>) -> Option<Cow<'b, str>> {
        if self.file.is_none() {
            self.file = File::open(self.path).ok();
        }
        let file = self.file.as_ref()?;
        match read_all_at(file, buf) {
            Some(len) => Some(String::from_utf8_lossy(&buf[..len])),
            None => {
                self.file = None;
                None
            }
        }
    }
}

/// Reads all of `file` from offset 0 into `buf` with `pread`s (no `statx` or `lseek`, unlike
/// std's `read_to_end`), growing it as needed; the length read, or `None` on an error.
pub fn read_all_at(file: &File, buf: &mut Vec<u8>) -> Option<usize> {
    if buf.len() < READ_BUFFER {
        buf.resize(READ_BUFFER, 0);
    }
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let offset = u64::try_from(filled).ok()?;
        match file.read_at(&mut buf[filled..], offset) {
            Ok(0) => return Some(filled),
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// `/proc/self/mounts`, re-read only when the mount table changed: the kernel flags a change
/// to `poll` as `POLLPRI | POLLERR` (what libmount watches), which costs a microsecond where
/// reading the table costs about sixteen.
#[derive(Debug)]
pub struct MountWatch {
    file: ProcFile,
    read_once: bool,
}

impl Default for MountWatch {
    fn default() -> Self {
        Self {
            file: ProcFile::new("/proc/self/mounts"),
            read_once: false,
        }
    }
}

impl MountWatch {
    /// The mount table if it changed since the last call (or this is the first successful
    /// reading); `None` when it did not change or cannot be read.
    pub fn read_if_changed(&mut self, buf: &mut Vec<u8>) -> Option<Vec<Mount>> {
        if self.read_once && !self.changed() {
            return None;
        }
        let mounts = parse_mounts(&self.file.read(buf)?);
        self.read_once = true;
        Some(mounts)
    }

    fn changed(&self) -> bool {
        let Some(file) = &self.file.file else {
            return true;
        };
        let mut watched = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLPRI,
            revents: 0,
        };
        // SAFETY: one valid `pollfd` on a descriptor `file` keeps open for the whole call; a
        // timeout of 0 returns at once.
        let ready = unsafe { libc::poll(&mut watched, 1, 0) };
        // An error counts as a change: re-reading is always correct.
        ready != 0
    }
}

/// Clock ticks per second of the `/proc` CPU counters (`sysconf(_SC_CLK_TCK)`); 100, the value
/// the Linux userspace ABI fixes `USER_HZ` at on mainstream architectures, if it fails.
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: `sysconf` only reads a constant of the C library.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100)
}

/// The memory page size in bytes (`sysconf(_SC_PAGESIZE)`); 4096 if it fails.
pub fn page_size() -> u64 {
    // SAFETY: `sysconf` only reads a constant of the C library.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|s| *s > 0).unwrap_or(4096)
}

/// `(total, available to unprivileged users)` bytes of the filesystem mounted at
/// `mount_point` (`statvfs`); `None` when it fails or reports no blocks.
pub fn filesystem_space(mount_point: &str) -> Option<(u64, u64)> {
    let path = CString::new(mount_point).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a valid NUL-terminated string and `stat` a buffer of the right type,
    // both alive for the call.
    if unsafe { libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: `statvfs` returned 0, so it filled the whole structure.
    let stat = unsafe { stat.assume_init() };
    // The field types differ between targets (u32 or u64): widen all to u64.
    #[allow(clippy::unnecessary_cast)]
    let (fragment, blocks, available) = (
        stat.f_frsize as u64,
        stat.f_blocks as u64,
        stat.f_bavail as u64,
    );
    let total = fragment.saturating_mul(blocks);
    (total > 0).then(|| (total, fragment.saturating_mul(available)))
}

/// Seconds since boot, suspend included (`CLOCK_BOOTTIME`, the clock of the `start_ticks` of
/// `/proc/[pid]/stat`).
#[cfg(target_os = "linux")]
pub fn seconds_since_boot() -> Option<f64> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable `timespec` for the duration of the call.
    if unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut now) } != 0 {
        return None;
    }
    Some(now.tv_sec as f64 + now.tv_nsec as f64 / 1e9)
}

/// Seconds since boot: unknown off Linux.
#[cfg(not(target_os = "linux"))]
pub fn seconds_since_boot() -> Option<f64> {
    None
}

/// The number of open file descriptors of this process. Linux 6.2 and later report it as the
/// size of `/proc/self/fd` (one `stat`); older kernels report 0 there, and the directory is
/// listed instead (less the descriptor the listing itself holds).
pub fn open_fd_count() -> Option<u64> {
    let size = std::fs::metadata("/proc/self/fd").ok()?.len();
    if size > 0 {
        return Some(size);
    }
    let listed = std::fs::read_dir("/proc/self/fd").ok()?.count();
    Some(u64::try_from(listed).unwrap_or(u64::MAX).saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "\
cpu  10132153 290696 3084719 46828483 16683 0 25195 0 175628 0
cpu0 1393280 32966 572056 13343292 6130 0 17875 0 23933 0
cpu1 1335 12 7 2 1 0 0 3
intr 199292 0 0
ctxt 2342
btime 1700000000
cpu2 garbage 1 2 3
cpuX 1 2 3 4
cpu3 1 2 3
";

    #[test]
    fn stat_reads_the_aggregate_and_each_cpu_and_skips_malformed_lines() {
        let stat = parse_stat(STAT).unwrap();
        assert_eq!(
            stat.total,
            CpuTimes {
                user: 10132153,
                nice: 290696,
                system: 3084719,
                idle: 46828483,
                iowait: 16683,
                irq: 0,
                softirq: 25195,
                steal: 0,
            }
        );
        assert_eq!(stat.per_cpu.len(), 2);
        assert_eq!(stat.per_cpu[0].0, 0);
        assert_eq!(stat.per_cpu[1].0, 1);
        assert_eq!(stat.per_cpu[1].1.steal, 3);
    }

    #[test]
    fn stat_of_an_old_kernel_has_four_fields() {
        let stat = parse_stat("cpu 1 2 3 4\ncpu0 1 2 3 4\n").unwrap();
        assert_eq!(stat.total.idle, 4);
        assert_eq!(stat.total.iowait, 0);
        assert_eq!(stat.per_cpu.len(), 1);
    }

    #[test]
    fn stat_without_an_aggregate_line_is_none() {
        assert_eq!(parse_stat(""), None);
        assert_eq!(parse_stat("cpu0 1 2 3 4\nintr 5"), None);
        assert_eq!(parse_stat("cpu 1 2 x 4"), None);
    }

    #[test]
    fn loadavg() {
        assert_eq!(
            parse_loadavg("0.52 0.58 0.59 2/1291 123456\n"),
            Some([0.52, 0.58, 0.59])
        );
        assert_eq!(parse_loadavg("0.52 0.58"), None);
        assert_eq!(parse_loadavg("0.52 nan 0.59"), None);
        assert_eq!(parse_loadavg(""), None);
    }

    #[test]
    fn meminfo_in_bytes_with_malformed_lines_skipped() {
        let text = "MemTotal:       16314536 kB\nMemFree:  100 kB\nMemAvailable:   8123456 kB\n\
                    Bogus line\nSwapTotal: x kB\nSwapFree:              0 kB\nHugePages_Total: 0\n";
        assert_eq!(
            parse_meminfo(text),
            MemInfo {
                total_bytes: Some(16314536 * 1024),
                available_bytes: Some(8123456 * 1024),
                swap_total_bytes: None,
                swap_free_bytes: Some(0),
            }
        );
    }

    #[test]
    fn meminfo_without_memavailable_estimates_it() {
        let text = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 300 kB\n";
        assert_eq!(parse_meminfo(text).available_bytes, Some(420 * 1024));
        assert_eq!(parse_meminfo("").total_bytes, None);
    }

    const NET_DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 52216009495 12438722    0    0    0     0          0         0 52216009495 12438722    0    0    0     0       0          0
  eth0:2643957134  107658    3    4    0     0          0         0  6284633   76757    5    6    0     0       0          0
  bad0: 1 2 3
  bad1: 1 2 3 4 5 6 7 8 9 10 x 12 13 14 15 16
";

    #[test]
    fn net_dev_per_interface_with_headers_and_malformed_lines_skipped() {
        let interfaces = parse_net_dev(NET_DEV);
        assert_eq!(interfaces.len(), 2);
        assert_eq!(interfaces[0].interface, "lo");
        assert_eq!(interfaces[0].rx_bytes, 52216009495);
        assert_eq!(
            interfaces[1],
            NetCounters {
                interface: "eth0".into(),
                rx_bytes: 2643957134,
                rx_packets: 107658,
                rx_errors: 3,
                rx_drops: 4,
                tx_bytes: 6284633,
                tx_packets: 76757,
                tx_errors: 5,
                tx_drops: 6,
            }
        );
    }

    const PID_STAT: &str = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 2245 0 0 0 \
                            150 37 0 0 20 0 7 0 123456 104857600 2560 18446744073709551615 \
                            1 1 0 0 0 0 0 4096 17926 0 0 0 17 1 0 0 0 0 0";

    #[test]
    fn pid_stat_counts_fields_after_the_last_parenthesis() {
        assert_eq!(
            parse_pid_stat(PID_STAT),
            Some(PidStat {
                utime_ticks: 150,
                stime_ticks: 37,
                threads: 7,
                start_ticks: 123456,
                virtual_bytes: 104857600,
                resident_pages: 2560,
            })
        );
        assert_eq!(parse_pid_name(PID_STAT), Some("my (odd) name"));
    }

    #[test]
    fn pid_stat_malformed_is_none() {
        assert_eq!(parse_pid_stat(""), None);
        assert_eq!(parse_pid_stat("4242 (name) S 1 2 3"), None);
        assert_eq!(parse_pid_stat("4242 no parenthesis at all"), None);
        assert_eq!(parse_pid_name(") ("), None);
        let negative_rss = PID_STAT.replace(" 2560 ", " -1 ");
        assert_eq!(parse_pid_stat(&negative_rss).unwrap().resident_pages, 0);
    }

    #[test]
    fn mounts_decode_escapes_and_read_only() {
        let text = "/dev/vda / ext4 rw,relatime 0 0\n\
                    /dev/vdb /mnt/my\\040disk xfs ro,nosuid 0 0\n\
                    short line\n\
                    /dev/vdc /odd\\9 ext4 rw 0 0\n";
        let mounts = parse_mounts(text);
        assert_eq!(mounts.len(), 3);
        assert_eq!(
            mounts[1],
            Mount {
                device: "/dev/vdb".into(),
                mount_point: "/mnt/my disk".into(),
                filesystem: "xfs".into(),
                read_only: true,
            }
        );
        assert!(!mounts[0].read_only);
        assert_eq!(mounts[2].mount_point, "/odd\\9");
    }

    #[test]
    fn cpuinfo_frequency_is_the_mean() {
        let text = "processor\t: 0\ncpu MHz\t\t: 2000.000\nprocessor\t: 1\ncpu MHz\t\t: 3000.5\n";
        assert_eq!(parse_cpuinfo_mhz(text), Some(2500.25));
        assert_eq!(parse_cpuinfo_mhz("processor : 0\nBogoMIPS : 50.00\n"), None);
        assert_eq!(parse_cpuinfo_mhz("cpu MHz : fast\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn readers_of_the_real_files() {
        assert!(!read_stat().unwrap().per_cpu.is_empty());
        assert!(read_loadavg().is_some());
        assert!(read_meminfo().unwrap().total_bytes.unwrap() > 0);
        assert!(read_net_dev().unwrap().iter().any(|i| i.interface == "lo"));
        let own = read_self_stat().unwrap();
        assert!(own.threads >= 1 && own.resident_pages > 0);
        assert!(read_mounts().unwrap().iter().any(|m| m.mount_point == "/"));
        assert!(filesystem_space("/").is_some());
        assert!(open_fd_count().unwrap() >= 3);
        assert!(seconds_since_boot().unwrap() > 0.0);
        assert!(clock_ticks_per_second() > 0);
        assert!(page_size() >= 4096);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn kept_open_files_read_again_and_the_mount_table_only_when_changed() {
        let mut buf = Vec::new();
        let mut file = ProcFile::new("/proc/self/stat");
        let first = file.read(&mut buf).map(|t| t.into_owned()).unwrap();
        assert!(parse_pid_stat(&first).is_some());
        assert!(parse_pid_stat(&file.read(&mut buf).unwrap()).is_some());
        assert!(ProcFile::new("/proc/no such file").read(&mut buf).is_none());

        // Longer than the first buffer: it grows, nothing is lost.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long");
        let long: String = (0..3000).map(|i| format!("{i}\n")).collect();
        std::fs::write(&path, &long).unwrap();
        let path: &'static str = path.to_str().unwrap().to_owned().leak();
        let mut file = ProcFile::new(path);
        assert_eq!(file.read(&mut buf).unwrap(), long.as_str());
        assert_eq!(file.read(&mut buf).unwrap(), long.as_str());

        let mut mounts = MountWatch::default();
        assert!(mounts.read_if_changed(&mut buf).is_some());
        // Other tests do not mount anything: unchanged.
        assert!(mounts.read_if_changed(&mut buf).is_none());
    }
}
