//! Fills a data directory's SQLite store with a week of host samples, one every 10 s, under
//! this machine's host name, and their hourly roll-ups: the history `scripts/bench-system.sh`
//! times the endpoints on.
//!
//! `cargo run --release -p perfwatch-collector --example seed_host_history -- DATA_DIR [DAYS]`

use std::path::PathBuf;

use perfwatch_collector::host_history::{hour_of, roll_stored_hour, HostPoint};
use perfwatch_collector::store::{SqliteStore, Store};
use perfwatch_collector::system::SystemInfo;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: seed_host_history DATA_DIR [DAYS]")?,
    );
    let days: i64 = args.next().map_or(Ok(7), |d| d.parse())?;
    let host = SystemInfo::gather()
        .hostname
        .unwrap_or_else(|| "localhost".to_owned());
    let store = SqliteStore::open(&dir.join("perfwatch.db"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let samples = days * 86_400 / 10;
    for i in 0..samples {
        let wave = (i as f64 / 360.0).sin();
        store.write_host_point(
            &host,
            &HostPoint {
                at_ms: now - (samples - i) * 10_000,
                cpu_percent: Some(30.0 + 20.0 * wave),
                memory_percent: 50.0 + 5.0 * wave,
                swap_percent: 0.0,
                disk_percent: Some(70.0),
                load_1: Some(1.0 + wave),
                network_rx_bytes_per_s: 1e5 * (1.5 + wave),
                network_tx_bytes_per_s: 5e4 * (1.5 + wave),
                process_cpu_percent: Some(0.1),
                process_resident_bytes: 12_000_000,
            },
        )?;
    }
    let first = hour_of(now - samples * 10_000);
    let mut hours = 0;
    for hour in (first..now).step_by(3_600_000) {
        roll_stored_hour(&store, &host, hour)?;
        hours += 1;
    }
    println!("{samples} samples and {hours} hourly roll-ups for {host}");
    Ok(())
}
