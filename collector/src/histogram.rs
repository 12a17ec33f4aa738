//! A fixed-bucket latency histogram with atomic counters, exposed in `/metrics` as a Prometheus
//! histogram (`_bucket{le=...}`, `_sum`, `_count`): what a dashboard needs to plot a p99 of
//! commit or flush times, where a "last duration" gauge shows one sample in thousands.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, seconds (`+Inf` is implied).
pub const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Counts of observations per bucket, their sum and count. Bounded: a fixed array of counters.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations at most each bound (not cumulative here; cumulated when read).
    buckets: [AtomicU64; BUCKETS.len()],
    /// Sum of the observations, microseconds.
    sum_micros: AtomicU64,
    /// All observations, `+Inf` included.
    count: AtomicU64,
}

/// A histogram as read at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// Cumulative counts per bound of [`BUCKETS`] (observations at most the bound).
    pub cumulative: [u64; BUCKETS.len()],
    /// Sum of the observations, seconds.
    pub sum_seconds: f64,
    /// All observations.
    pub count: u64,
}

impl Histogram {
    /// Records one duration.
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts now.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = [0; BUCKETS.len()];
        let mut running = 0;
        for (total, bucket) in cumulative.iter_mut().zip(&self.buckets) {
            running += bucket.load(Ordering::Relaxed);
            *total = running;
        }
        HistogramSnapshot {
            cumulative,
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            count: self.count.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_cumulative_buckets() {
        let h = Histogram::default();
        for ms in [0.5, 3.0, 3.0, 40.0, 10_000.0] {
            h.observe(Duration::from_secs_f64(ms / 1000.0));
        }
        let s = h.snapshot();
        assert_eq!(s.count, 5);
        // ≤1 ms: 1; ≤5 ms: 3; ≤50 ms: 4; 10 s only in +Inf.
        assert_eq!(s.cumulative[0], 1);
        assert_eq!(s.cumulative[2], 3);
        assert_eq!(s.cumulative[5], 4);
        assert_eq!(s.cumulative[BUCKETS.len() - 1], 4);
        assert!((s.sum_seconds - 10.0465).abs() < 1e-6, "{}", s.sum_seconds);
    }
}
