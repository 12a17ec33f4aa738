//! The host's history and health: every sample's headline numbers are kept (as raw events are,
//! `retention_days`) and rolled up per hour (kept `rollup_hour_days`), answered as at most
//! [`MAX_POINTS`] points per series and min / avg / max / p95 over a window (from the samples
//! up to a day, from the hourly roll-ups beyond), and the latest sample is rated healthy,
//! warning or critical.

use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::host::{HostSample, Sampler, TopProcesses, TopSampler};
use crate::periodic::Periodic;
use crate::rollup::Tier;
use crate::sketch::DdSketch;
use crate::stats::nearest_rank;
use crate::store::{SharedStore, Store, StoreError};
use crate::{clock, host};

/// Points per series in an answer, at most: longer histories are averaged into this many
/// equal time buckets.
pub const MAX_POINTS: usize = 500;

/// One sample's headline numbers: a row of `system_samples`. Shares are 0–100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostPoint {
    /// When, epoch ms.
    pub at_ms: i64,
    /// CPU busy share (`null` until two readings).
    pub cpu_percent: Option<f64>,
    /// Memory used share (1 - available / total).
    pub memory_percent: f64,
    /// Swap used share.
    pub swap_percent: f64,
    /// The fullest disk's used share (`null` without disks).
    pub disk_percent: Option<f64>,
    /// Load average over a minute.
    pub load_1: Option<f64>,
    /// Bytes received per second, all interfaces.
    pub network_rx_bytes_per_s: f64,
    /// Bytes sent per second, all interfaces.
    pub network_tx_bytes_per_s: f64,
    /// The collector's own CPU share of one core (may pass 100 on several cores).
    pub process_cpu_percent: Option<f64>,
    /// The collector's resident memory, bytes.
    pub process_resident_bytes: u64,
}

impl HostPoint {
    /// The headline numbers of `sample`.
    pub fn of(sample: &HostSample) -> Self {
        Self {
            at_ms: sample.at_ms,
            cpu_percent: sample.cpu.usage_percent,
            memory_percent: sample.memory.usage_percent,
            swap_percent: sample.memory.swap_usage_percent,
            disk_percent: sample
                .disks
                .iter()
                .map(|d| d.usage_percent)
                .max_by(f64::total_cmp),
            load_1: sample.cpu.load_1,
            network_rx_bytes_per_s: sample.network.iter().map(|n| n.rx_bytes_per_s).sum(),
            network_tx_bytes_per_s: sample.network.iter().map(|n| n.tx_bytes_per_s).sum(),
            process_cpu_percent: sample.process.cpu_percent,
            process_resident_bytes: sample.process.resident_bytes,
        }
    }
}

impl HostPoint {
    /// The point at `at_ms` whose series (by their names in [`SERIES`]) have the values
    /// `value` gives; a required series without one is 0.
    fn from_series(at_ms: i64, value: impl Fn(&str) -> Option<f64>) -> Self {
        Self {
            at_ms,
            cpu_percent: value("cpu_percent"),
            memory_percent: value("memory_percent").unwrap_or_default(),
            swap_percent: value("swap_percent").unwrap_or_default(),
            disk_percent: value("disk_percent"),
            load_1: value("load_1"),
            network_rx_bytes_per_s: value("network_rx_bytes_per_s").unwrap_or_default(),
            network_tx_bytes_per_s: value("network_tx_bytes_per_s").unwrap_or_default(),
            process_cpu_percent: value("process_cpu_percent"),
            process_resident_bytes: value("process_resident_bytes")
                .map_or(0, |bytes| bytes.round() as u64),
        }
    }
}

/// A series of [`HostPoint`]: its name in the answer and how to read it.
type Series = (&'static str, fn(&HostPoint) -> Option<f64>);

/// Every series the history answers statistics for.
pub const SERIES: [Series; 9] = [
    ("cpu_percent", |p| p.cpu_percent),
    ("memory_percent", |p| Some(p.memory_percent)),
    ("swap_percent", |p| Some(p.swap_percent)),
    ("disk_percent", |p| p.disk_percent),
    ("load_1", |p| p.load_1),
    ("network_rx_bytes_per_s", |p| Some(p.network_rx_bytes_per_s)),
    ("network_tx_bytes_per_s", |p| Some(p.network_tx_bytes_per_s)),
    ("process_cpu_percent", |p| p.process_cpu_percent),
    ("process_resident_bytes", |p| {
        Some(p.process_resident_bytes as f64)
    }),
];

/// min / avg / max / p95 (nearest rank) of one series; all `null` without values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SeriesStats {
    /// The smallest value.
    pub min: Option<f64>,
    /// The mean.
    pub avg: Option<f64>,
    /// The largest value.
    pub max: Option<f64>,
    /// The 95th percentile, nearest rank.
    pub p95: Option<f64>,
    /// How many samples had a value.
    pub samples: usize,
}

impl SeriesStats {
    /// The statistics of `values`.
    pub fn of(mut values: Vec<f64>) -> Self {
        values.sort_by(f64::total_cmp);
        let samples = values.len();
        Self {
            min: values.first().copied(),
            avg: (samples > 0).then(|| values.iter().sum::<f64>() / samples as f64),
            max: values.last().copied(),
            p95: nearest_rank(&values, 95),
            samples,
        }
    }
}

/// Every series' statistics over `points`, in [`SERIES`] order.
pub fn statistics(points: &[HostPoint]) -> Vec<(&'static str, SeriesStats)> {
    SERIES
        .iter()
        .map(|(name, read)| {
            (
                *name,
                SeriesStats::of(points.iter().filter_map(read).collect()),
            )
        })
        .collect()
}

/// `points` (in time order) as at most `max` points: equal time buckets over their span, each
/// the mean of its samples (a series without a value in a bucket is `null` there). Fewer
/// points than `max` come back as they are.
pub fn downsample(points: &[HostPoint], max: usize) -> Vec<HostPoint> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    if points.len() <= max || max == 0 {
        return points.to_vec();
    }
    let span = (last.at_ms - first.at_ms).max(1) as f64;
    let mut buckets: Vec<Vec<&HostPoint>> = vec![Vec::new(); max];
    for point in points {
        let position = (point.at_ms - first.at_ms) as f64 / span * max as f64;
        let index = (position as usize).min(max - 1);
        buckets[index].push(point);
    }
    buckets
        .into_iter()
        .filter(|bucket| !bucket.is_empty())
        .map(|bucket| mean_point(&bucket))
        .collect()
}

fn mean_point(bucket: &[&HostPoint]) -> HostPoint {
    let at_ms = bucket.iter().map(|p| p.at_ms as f64).sum::<f64>() / bucket.len() as f64;
    HostPoint::from_series(at_ms.round() as i64, |name| {
        let read = SERIES.iter().find(|(n, _)| *n == name)?.1;
        let values: Vec<f64> = bucket.iter().filter_map(|p| read(p)).collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    })
}

/// One series over one hour: what a window longer than a day is answered from, and what is
/// kept after the samples themselves are deleted (`rollup_hour_days`, 90 days by default).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRollup {
    /// The series' name (one of [`SERIES`]).
    pub series: String,
    /// Its values: count, sum, min, max and quantiles (within 1 %).
    pub sketch: DdSketch,
}

/// The hour of `at_ms`, as the roll-ups bucket it.
pub fn hour_of(at_ms: i64) -> i64 {
    Tier::Hour.bucket_of(at_ms)
}

/// The hourly roll-up of `points`: one sketch per series with a value.
pub fn roll_hour(points: &[HostPoint]) -> Vec<SeriesRollup> {
    SERIES
        .iter()
        .filter_map(|(name, read)| {
            let mut sketch = DdSketch::new();
            for value in points.iter().filter_map(read) {
                sketch.add(value);
            }
            (sketch.count() > 0).then(|| SeriesRollup {
                series: (*name).to_owned(),
                sketch,
            })
        })
        .collect()
}

/// Every series' statistics over hourly roll-ups, in [`SERIES`] order: exact min, max and
/// mean, the p95 within the sketch's 1 %.
pub fn rollup_statistics(hours: &[(i64, Vec<SeriesRollup>)]) -> Vec<(&'static str, SeriesStats)> {
    SERIES
        .iter()
        .map(|(name, _)| {
            let mut merged = DdSketch::new();
            for (_, rollups) in hours {
                for rollup in rollups.iter().filter(|r| r.series == *name) {
                    merged.merge(&rollup.sketch);
                }
            }
            let samples = usize::try_from(merged.count()).unwrap_or(usize::MAX);
            let stats = SeriesStats {
                min: merged.min(),
                avg: (samples > 0).then(|| merged.sum() / samples as f64),
                max: merged.max(),
                p95: merged.quantile(0.95),
                samples,
            };
            (*name, stats)
        })
        .collect()
}

/// One point per hour: each series' mean over the hour.
pub fn rollup_points(hours: &[(i64, Vec<SeriesRollup>)]) -> Vec<HostPoint> {
    hours
        .iter()
        .map(|(hour, rollups)| {
            HostPoint::from_series(*hour, |name| {
                let sketch = &rollups.iter().find(|r| r.series == name)?.sketch;
                (sketch.count() > 0).then(|| sketch.sum() / sketch.count() as f64)
            })
        })
        .collect()
}

/// Rolls the hour starting at `hour` up from the stored samples of `host` (replacing what an
/// earlier roll of it left: the same samples give the same rows).
pub fn roll_stored_hour(store: &dyn Store, host: &str, hour: i64) -> Result<(), StoreError> {
    let points = store.host_points(host, hour, hour + Tier::Hour.width_ms())?;
    if points.is_empty() {
        return Ok(());
    }
    store.write_host_rollup(host, hour, &roll_hour(&points))
}

/// When a share is worth a warning, and when it is critical (percent, 0–100).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// CPU busy share: warning, critical (seed design: 75, 90).
    pub cpu: (f64, f64),
    /// Memory used share (80, 90).
    pub memory: (f64, f64),
    /// Any disk's used share (85, 95).
    pub disk: (f64, f64),
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            cpu: (75.0, 90.0),
            memory: (80.0, 90.0),
            disk: (85.0, 95.0),
        }
    }
}

/// The host's state by [`Thresholds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every share below its warning threshold.
    Healthy,
    /// Some share at or above its warning threshold.
    Warning,
    /// Some share at or above its critical threshold.
    Critical,
}

/// The status of the host, and one reason per share at or above a threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// The worst of the shares.
    pub status: Status,
    /// Why, e.g. `memory 92.1 % ≥ 90 % (critical)`.
    pub reasons: Vec<String>,
}

impl Thresholds {
    /// Rates `sample`: CPU, memory, and each disk.
    pub fn assess(&self, sample: &HostSample) -> Assessment {
        let mut status = Status::Healthy;
        let mut reasons = Vec::new();
        let mut check = |what: String, value: f64, (warning, critical): (f64, f64)| {
            let level = if value >= critical {
                Status::Critical
            } else if value >= warning {
                Status::Warning
            } else {
                return;
            };
            let (label, threshold) = match level {
                Status::Critical => ("critical", critical),
                _ => ("warning", warning),
            };
            reasons.push(format!("{what} {value:.1} % ≥ {threshold} % ({label})"));
            status = status.max(level);
        };
        if let Some(cpu) = sample.cpu.usage_percent {
            check("CPU".into(), cpu, self.cpu);
        }
        check("memory".into(), sample.memory.usage_percent, self.memory);
        for disk in &sample.disks {
            check(
                format!("disk {}", disk.mount_point),
                disk.usage_percent,
                self.disk,
            );
        }
        Assessment { status, reasons }
    }
}

/// What the monitor last saw, for the endpoints and `/metrics`.
#[derive(Debug, Default, Clone)]
pub struct Latest {
    /// The last sample.
    pub sample: Option<HostSample>,
    /// The last list of busiest processes.
    pub top: Option<TopProcesses>,
}

/// The monitor's shared view: the latest sample, readable by every worker.
pub type SharedLatest = Arc<RwLock<Latest>>;

/// How the monitor samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitorSchedule {
    /// Between samples (default 10 s).
    pub interval: std::time::Duration,
    /// Between lists of the busiest processes (default 60 s; listing every process costs more).
    pub top_interval: std::time::Duration,
}

impl Default for MonitorSchedule {
    fn default() -> Self {
        Self {
            interval: std::time::Duration::from_secs(10),
            top_interval: std::time::Duration::from_secs(60),
        }
    }
}

/// Processes listed by CPU and by memory.
pub const TOP_PROCESSES: usize = 10;

/// The sampling thread; [`Monitor::stop`] ends it.
pub struct Monitor(Periodic);

impl Monitor {
    /// Samples the host every `schedule.interval` into `latest` and the store (under `host`),
    /// the busiest processes every `schedule.top_interval`. The first sample is taken now,
    /// for the counters; the second one [`host::MIN_CPU_INTERVAL`] later, so that the CPU
    /// share is known within a second of start-up.
    pub fn start(
        store: SharedStore,
        host_name: String,
        latest: SharedLatest,
        schedule: MonitorSchedule,
    ) -> std::io::Result<Monitor> {
        let mut sampler = Sampler::new();
        let mut top_sampler = TopSampler::new();
        let first = sampler.sample(clock::to_epoch_ms(clock::now_ms()));
        top_sampler.sample(TOP_PROCESSES);
        if let Ok(mut latest) = latest.write() {
            latest.sample = Some(first);
        }
        let every_top = (schedule.top_interval.as_millis() / schedule.interval.as_millis().max(1))
            .max(1) as u64;
        let mut runs = 0u64;
        let mut current_hour = hour_of(clock::to_epoch_ms(clock::now_ms()));
        // The hours before start-up may not have been rolled (the collector stopped in them):
        // rolled on the first run, on the monitor's thread (the store blocks; this function
        // may be called from an async one).
        let mut unrolled = vec![
            current_hour - 2 * Tier::Hour.width_ms(),
            current_hour - Tier::Hour.width_ms(),
        ];
        let task = move || {
            for hour in std::mem::take(&mut unrolled) {
                if let Err(e) = roll_stored_hour(store.as_ref(), &host_name, hour) {
                    tracing::warn!(error = %e, "could not roll the host's history up");
                }
            }
            let sample = sampler.sample(clock::to_epoch_ms(clock::now_ms()));
            let point = HostPoint::of(&sample);
            // The first run comes early (for the CPU share); the top list at its own pace.
            let top = runs
                .is_multiple_of(every_top)
                .then(|| top_sampler.sample(TOP_PROCESSES));
            runs += 1;
            if let Ok(mut latest) = latest.write() {
                latest.sample = Some(sample);
                if top.is_some() {
                    latest.top = top;
                }
            }
            if let Err(e) = store.write_host_point(&host_name, &point) {
                tracing::warn!(error = %e, "could not store the host sample");
            }
            // An hour has ended: roll it up.
            let hour = hour_of(point.at_ms);
            if hour > current_hour {
                if let Err(e) = roll_stored_hour(store.as_ref(), &host_name, current_hour) {
                    tracing::warn!(error = %e, "could not roll the host's history up");
                }
                current_hour = hour;
            }
        };
        Periodic::start(
            "perfwatch-monitor",
            host::MIN_CPU_INTERVAL.max(std::time::Duration::from_millis(500)),
            schedule.interval,
            task,
        )
        .map(Monitor)
    }

    /// Stops sampling.
    pub fn stop(self) {
        self.0.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(at_ms: i64, cpu: Option<f64>, memory: f64) -> HostPoint {
        HostPoint {
            at_ms,
            cpu_percent: cpu,
            memory_percent: memory,
            swap_percent: 0.0,
            disk_percent: Some(50.0),
            load_1: Some(0.5),
            network_rx_bytes_per_s: 100.0,
            network_tx_bytes_per_s: 10.0,
            process_cpu_percent: None,
            process_resident_bytes: 10_000_000,
        }
    }

    #[test]
    fn statistics_are_min_avg_max_and_nearest_rank_p95() {
        let points: Vec<HostPoint> = (1..=20)
            .map(|i| point(i * 10_000, (i > 1).then_some(i as f64), i as f64 * 2.0))
            .collect();
        let stats = statistics(&points);
        let get = |name| stats.iter().find(|(n, _)| *n == name).unwrap().1;
        let cpu = get("cpu_percent");
        assert_eq!((cpu.min, cpu.max, cpu.samples), (Some(2.0), Some(20.0), 19));
        assert_eq!(cpu.avg, Some(11.0));
        // Nearest rank of 19 values at 95 %: rank 19 (ceil(18.05)).
        assert_eq!(cpu.p95, Some(20.0));
        let memory = get("memory_percent");
        assert_eq!((memory.p95, memory.avg), (Some(38.0), Some(21.0)));
        let process = get("process_cpu_percent");
        assert_eq!(process, SeriesStats::default());
    }

    #[test]
    fn downsampling_keeps_at_most_the_maximum_and_the_means() {
        let points: Vec<HostPoint> = (0..2000)
            .map(|i| point(i * 1000, Some((i % 10) as f64), 50.0))
            .collect();
        let out = downsample(&points, 500);
        assert_eq!(out.len(), 500);
        assert!(out.windows(2).all(|w| w[0].at_ms < w[1].at_ms));
        // Four samples a bucket: 0,1,2,3 → 1.5; 4,5,6,7 → 5.5; ...
        assert_eq!(out[0].cpu_percent, Some(1.5));
        assert_eq!(out[1].cpu_percent, Some(5.5));
        assert!(out.iter().all(|p| p.memory_percent == 50.0));
        let few = &points[..10];
        assert_eq!(downsample(few, 500), few);
        assert!(downsample(&[], 500).is_empty());
    }
}
