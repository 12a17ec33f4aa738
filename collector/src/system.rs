//! What the collector knows about the machine it runs on (`GET /api/v1/monitoring/system/info`).
//! Gathered once at start-up; only the uptime changes while the collector runs.

use serde::Serialize;
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

/// The host's fixed facts. Anything the platform cannot tell is `null`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemInfo {
    /// The host's name.
    pub hostname: Option<String>,
    /// The OS name and version (`Debian GNU/Linux 12`).
    pub platform: Option<String>,
    /// The CPU architecture (`x86_64`).
    pub architecture: String,
    /// The kernel's version (`6.1.0-18-amd64`).
    pub kernel_version: Option<String>,
    /// The first CPU's brand string.
    pub cpu_model: Option<String>,
    /// Logical CPUs.
    pub cpu_count: usize,
    /// Installed RAM, in bytes.
    pub memory_total_bytes: u64,
    /// When the host booted, epoch seconds.
    pub boot_time: Option<u64>,
    /// When the host booted, RFC 3339 in UTC.
    pub boot_time_rfc3339: Option<String>,
}

impl SystemInfo {
    /// Reads the host's facts (a few `/proc` reads on Linux).
    pub fn gather() -> Self {
        let system = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        )
        .ok();
        let cpus = system.as_ref().map_or(&[][..], System::cpus);
        let cpu_count = if cpus.is_empty() {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            cpus.len()
        };
        let platform = match (System::name().ok(), System::os_version().ok()) {
            (Some(name), Some(version)) => Some(format!("{name} {version}")),
            (name, version) => name.or(version),
        };
        let boot_time = System::boot_time().ok().filter(|t| *t > 0);
        Self {
            hostname: System::host_name().ok(),
            platform,
            architecture: System::cpu_arch(),
            kernel_version: System::kernel_version().ok(),
            cpu_model: cpus
                .first()
                .map(|cpu| cpu.brand().trim().to_owned())
                .filter(|brand| !brand.is_empty()),
            cpu_count,
            memory_total_bytes: system.as_ref().map_or(0, System::total_memory),
            boot_time,
            boot_time_rfc3339: boot_time.map(rfc3339_utc),
        }
    }

    /// Seconds since the host booted, as of `now_secs` (epoch seconds).
    pub fn uptime_seconds(&self, now_secs: u64) -> Option<u64> {
        self.boot_time.map(|boot| now_secs.saturating_sub(boot))
    }
}

/// `epoch_secs` as RFC 3339 in UTC (`2026-11-26T07:00:00Z`).
fn rfc3339_utc(epoch_secs: u64) -> String {
    let days = epoch_secs / 86_400;
    let secs = epoch_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_795_676_400), "2026-11-26T07:00:00Z");
        assert_eq!(rfc3339_utc(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn gathers_what_this_host_tells() {
        let info = SystemInfo::gather();
        assert!(info.cpu_count >= 1);
        assert!(!info.architecture.is_empty());
        if cfg!(target_os = "linux") {
            assert!(info.memory_total_bytes > 0);
            assert!(info.boot_time.is_some());
        }
    }
}
