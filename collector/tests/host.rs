//! The host sampler on the real machine: its `/proc` readings agree with sysinfo's, and its
//! values stay within physical bounds.
#![cfg(target_os = "linux")]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use perfwatch_collector::host::{procfs, Sampler, MIN_CPU_INTERVAL};
use sysinfo::{
    CpuRefreshKind, MemoryRefreshKind, Networks, ProcessRefreshKind, ProcessesToUpdate,
    RefreshKind, System,
};

/// Keeps one core busy for `how_long`.
fn busy_work(how_long: Duration) {
    let started = Instant::now();
    let mut x = 0u64;
    while started.elapsed() < how_long {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

#[test]
fn memory_total_and_core_count_agree_with_sysinfo() {
    let system = System::new_with_specifics(
        RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing())
            .with_memory(MemoryRefreshKind::nothing().with_ram()),
    )
    .unwrap();
    let sample = Sampler::new().sample(0);

    let theirs = system.total_memory() as f64;
    let ours = sample.memory.total_bytes as f64;
    assert!(
        (ours - theirs).abs() <= theirs * 0.01,
        "memory total: ours {ours}, sysinfo {theirs}"
    );
    assert_eq!(sample.cpu.cores, system.cpus().len());
}

#[test]
fn network_interfaces_and_counters_agree_with_sysinfo() {
    let before = procfs::read_net_dev().unwrap();
    let networks = Networks::new_with_refreshed_list().unwrap();
    let after = procfs::read_net_dev().unwrap();

    let ours: BTreeSet<String> = before.iter().map(|i| i.interface.clone()).collect();
    let theirs: BTreeSet<String> = networks
        .keys()
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    assert_eq!(ours, theirs);

    // Counters only grow: read back to back, sysinfo's reading lies between our two.
    for (name, data) in networks.iter() {
        let name = name.to_string_lossy();
        let rx = |readings: &[procfs::NetCounters]| {
            readings
                .iter()
                .find(|i| i.interface == name)
                .map(|i| i.rx_bytes)
                .unwrap()
        };
        let (low, high) = (rx(&before), rx(&after));
        assert!(
            (low..=high).contains(&data.total_received()),
            "{name}: sysinfo {} outside ours {low}..={high}",
            data.total_received()
        );
    }
}

#[test]
fn own_resident_size_agrees_with_sysinfo() {
    let pid = sysinfo::get_current_pid().unwrap();
    let mut system = System::new().unwrap();
    let mut sampler = Sampler::new();
    let ours = sampler.process().resident_bytes as f64;
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing().with_memory(),
    );
    let theirs = system.process(pid).unwrap().memory() as f64;
    assert!(
        (ours - theirs).abs() <= theirs * 0.2,
        "resident: ours {ours}, sysinfo {theirs}"
    );
}

#[test]
fn samples_of_this_machine_stay_within_physical_bounds() {
    let mut sampler = Sampler::new();
    let first = sampler.sample(1_000);
    assert_eq!(first.at_ms, 1_000);
    assert_eq!(first.cpu.usage_percent, None);
    assert!(first.cpu.per_core_percent.is_empty());
    assert_eq!(first.process.cpu_percent, None);
    assert!(first.cpu.cores >= 1);
    assert!(first.cpu.load_1.is_some_and(|l| l >= 0.0));

    busy_work(MIN_CPU_INTERVAL + Duration::from_millis(50));
    let second = sampler.sample(2_000);

    let usage = second
        .cpu
        .usage_percent
        .expect("a share after the interval");
    assert!((0.0..=100.0).contains(&usage), "{usage}");
    assert_eq!(second.cpu.per_core_percent.len(), second.cpu.cores);
    assert!(second
        .cpu
        .per_core_percent
        .iter()
        .all(|p| (0.0..=100.0).contains(p)));
    // This thread was busy the whole interval: the process used CPU.
    let own_cpu = second.process.cpu_percent.expect("a process share");
    assert!(own_cpu > 0.0, "{own_cpu}");

    let memory = &second.memory;
    assert!(memory.total_bytes > 0);
    assert!(memory.used_bytes <= memory.total_bytes);
    assert_eq!(
        memory.used_bytes,
        memory.total_bytes - memory.available_bytes
    );
    assert!((0.0..=100.0).contains(&memory.usage_percent));
    assert!(memory.swap_used_bytes <= memory.swap_total_bytes);
    assert!((0.0..=100.0).contains(&memory.swap_usage_percent));

    for disk in &second.disks {
        assert!(disk.total_bytes > 0, "{disk:?}");
        assert!(disk.available_bytes <= disk.total_bytes, "{disk:?}");
        assert!((0.0..=100.0).contains(&disk.usage_percent), "{disk:?}");
    }

    assert!(second.network.iter().any(|i| i.interface == "lo"));
    for interface in &second.network {
        let rates = [
            interface.rx_bytes_per_s,
            interface.tx_bytes_per_s,
            interface.rx_packets_per_s,
            interface.tx_packets_per_s,
            interface.rx_errors_per_s,
            interface.tx_errors_per_s,
            interface.rx_drops_per_s,
            interface.tx_drops_per_s,
        ];
        assert!(
            rates.iter().all(|r| r.is_finite() && *r >= 0.0),
            "{interface:?}"
        );
    }

    let process = &second.process;
    assert_eq!(process.pid, std::process::id());
    assert!(process.resident_bytes > 0);
    assert!(process.virtual_bytes >= process.resident_bytes);
    assert!(process.threads >= 1);
    assert!(process.open_fds >= 3);
    // A test binary started moments ago.
    assert!(process.uptime_seconds < 3600, "{}", process.uptime_seconds);

    // Serializable without NaN or infinities anywhere.
    let json = serde_json::to_string(&second).unwrap();
    let back: perfwatch_collector::host::HostSample = serde_json::from_str(&json).unwrap();
    assert_eq!(back, second);
}

#[test]
fn a_reading_closer_than_the_interval_keeps_the_previous_share() {
    let mut sampler = Sampler::new();
    sampler.cpu();
    busy_work(MIN_CPU_INTERVAL + Duration::from_millis(20));
    let share = sampler.cpu().usage_percent;
    assert!(share.is_some());
    // At once: too close to the previous reading, the same share.
    assert_eq!(sampler.cpu().usage_percent, share);
}
