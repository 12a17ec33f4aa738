//! Anomaly detection: each chosen series keeps an exponentially weighted mean and variance of
//! its own values (its baseline); a value more than `deviations` standard deviations from the
//! mean is anomalous. With daily seasonality a series keeps 24 baselines, one per hour of the
//! day (UTC), so that the nightly lull is not compared with the midday peak.
//!
//! Why this and not a learned model: it needs no training data or offline fitting, adapts to
//! drift at a speed one parameter (`half_life`) states, costs a few numbers per series, and its
//! verdicts can be explained ("41 % is 5.2 standard deviations above the usual 12 %"). A model
//! can come later; it would have to beat this baseline on the same series to earn its keep.
//!
//! The method, for an observation `x` at time `t`:
//! - The weight of the new value is `alpha = 1 - 2^(-dt / half_life)`, where `dt` is the time
//!   since the baseline's previous observation (so irregular sampling is handled), but at
//!   least `1/n` for the baseline's `n`-th observation: until the exponential weights take
//!   over, the baseline is the plain mean and variance of what it has seen (started from one
//!   value, an exponential average underestimates the variance for many half-lives). With daily
//!   seasonality only the time within the baseline's own hour counts: `dt` is at most the time
//!   since the previous observation *in that hour*, capped at an hour, so a `half_life` of
//!   `3h` forgets over three days of that hour.
//! - Until the baseline has `min_samples` observations it only learns.
//! - Then `z = (x - mean) / sd`, where `sd` is at least `min_deviation` (a flat series would
//!   otherwise make any change infinitely anomalous) and anomalous when `z > deviations`
//!   (direction `above`), `z < -deviations` (`below`) or either (`both`).
//! - The baseline learns from `x` clamped to `mean ± deviations·sd`: a spike moves it little,
//!   while a lasting change of level is absorbed within a few half-lives and the alert ends.
//!   West's update: `diff = x - mean; mean += alpha·diff; var = (1 - alpha)(var + alpha·diff²)`.
//!
//! How long a value must stay anomalous before the alert fires is the rule's `for`.

use super::rules::{AnomalyParams, Direction};

/// An hour in ms.
const HOUR_MS: i64 = 3_600_000;

/// One baseline: exponentially weighted mean and variance.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Baseline {
    mean: f64,
    variance: f64,
    samples: u32,
    last_ms: i64,
}

/// What one observation was judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// `None` while the baseline is still learning.
    pub anomalous: Option<bool>,
    /// The baseline's mean and standard deviation before this observation.
    pub mean: f64,
    pub deviation: f64,
    /// How many standard deviations the value is from the mean.
    pub score: f64,
}

/// The baselines of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Detector {
    params: AnomalyParams,
    baselines: Vec<Baseline>,
}

impl Detector {
    /// A detector that has seen nothing.
    pub fn new(params: AnomalyParams) -> Self {
        let count = if params.daily { 24 } else { 1 };
        Self {
            params,
            baselines: vec![Baseline::default(); count],
        }
    }

    /// The parameters it judges with.
    pub fn params(&self) -> AnomalyParams {
        self.params
    }

    /// Judges `value` observed at `at_ms`, then learns from it.
    pub fn observe(&mut self, at_ms: i64, value: f64) -> Verdict {
        let p = self.params;
        let slot = if p.daily {
            usize::try_from(at_ms.rem_euclid(24 * HOUR_MS) / HOUR_MS).unwrap_or(0)
        } else {
            0
        };
        let Some(b) = self.baselines.get_mut(slot) else {
            return Verdict {
                anomalous: None,
                mean: value,
                deviation: 0.0,
                score: 0.0,
            };
        };
        if b.samples == 0 {
            *b = Baseline {
                mean: value,
                variance: 0.0,
                samples: 1,
                last_ms: at_ms,
            };
            return Verdict {
                anomalous: None,
                mean: value,
                deviation: 0.0,
                score: 0.0,
            };
        }
        let deviation = b
            .variance
            .sqrt()
            .max(p.min_deviation)
            .max(f64::EPSILON * b.mean.abs());
        let score = if deviation > 0.0 {
            (value - b.mean) / deviation
        } else {
            0.0
        };
        let k = p.deviations;
        let anomalous = (b.samples >= p.min_samples).then(|| match p.direction {
            Direction::Above => score > k,
            Direction::Below => score < -k,
            Direction::Both => score.abs() > k,
        });
        let verdict = Verdict {
            anomalous,
            mean: b.mean,
            deviation,
            score,
        };
        // Learn, from the value clamped to the band once the baseline judges.
        let learned = if b.samples >= p.min_samples {
            value.clamp(b.mean - k * deviation, b.mean + k * deviation)
        } else {
            value
        };
        let mut dt = (at_ms - b.last_ms).max(0) as f64;
        if p.daily {
            dt = dt.min(HOUR_MS as f64);
        }
        let half_life = p.half_life.as_millis() as f64;
        // Never less than 1/n: early on the baseline is the plain mean and variance of what it
        // has seen (an exponential average started from one value underestimates the
        // variance for many half-lives and would flag ordinary noise).
        let alpha = (1.0 - (-dt / half_life).exp2()).max(1.0 / f64::from(b.samples + 1));
        let diff = learned - b.mean;
        b.mean += alpha * diff;
        b.variance = (1.0 - alpha) * (b.variance + alpha * diff * diff);
        b.samples = b.samples.saturating_add(1);
        b.last_ms = at_ms;
        verdict
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn params(daily: bool) -> AnomalyParams {
        AnomalyParams {
            deviations: 4.0,
            half_life: Duration::from_secs(3600),
            min_samples: 30,
            daily,
            direction: Direction::Both,
            min_deviation: 0.0,
        }
    }

    /// A deterministic pseudo-random sequence in [-1, 1) (xorshift), so the tests are repeatable.
    fn noise(seed: &mut u64) -> f64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        (*seed >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    #[test]
    fn plain_noise_is_never_anomalous_and_an_injected_spike_is() {
        let mut detector = Detector::new(params(false));
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        let step = 15_000;
        let mut flagged = Vec::new();
        for i in 0..2000 {
            let mut value = 100.0 + 5.0 * noise(&mut seed);
            if (1500..1504).contains(&i) {
                value += 60.0;
            }
            if detector.observe(i * step, value).anomalous == Some(true) {
                flagged.push(i);
            }
        }
        assert_eq!(flagged, [1500, 1501, 1502, 1503]);
    }

    #[test]
    fn learning_comes_first() {
        let mut detector = Detector::new(params(false));
        for i in 0..29 {
            assert_eq!(detector.observe(i * 1000, i as f64 * 50.0).anomalous, None);
        }
    }

    #[test]
    fn a_lasting_level_change_is_absorbed() {
        let mut detector = Detector::new(params(false));
        let mut seed = 7;
        let step = 60_000;
        for i in 0..300 {
            detector.observe(i * step, 10.0 + noise(&mut seed));
        }
        let first = detector.observe(300 * step, 30.0 + noise(&mut seed));
        assert_eq!(first.anomalous, Some(true));
        // Twelve hours later (12 half-lives) the new level is the baseline.
        let mut last = first;
        for i in 301..1020 {
            last = detector.observe(i * step, 30.0 + noise(&mut seed));
        }
        assert_eq!(last.anomalous, Some(false), "{last:?}");
    }

    #[test]
    fn daily_seasonality_expects_the_peak_at_its_hour() {
        // Busy from 12:00 to 13:00 every day (200 against 20), for 14 days, sampled every 5 min.
        let step = 300_000;
        let value = |t: i64| {
            if (t / HOUR_MS) % 24 == 12 {
                200.0
            } else {
                20.0
            }
        };
        let mut seasonal = Detector::new(AnomalyParams {
            min_samples: 10,
            ..params(true)
        });
        let mut plain = Detector::new(AnomalyParams {
            min_samples: 10,
            ..params(false)
        });
        let mut seed = 3;
        let (mut seasonal_flags, mut plain_flags) = (0, 0);
        for i in 0..(14 * 24 * 12) {
            let t = i * step;
            let v = value(t) + noise(&mut seed);
            let day = t / (24 * HOUR_MS);
            let s = seasonal.observe(t, v);
            let p = plain.observe(t, v);
            if day >= 7 {
                seasonal_flags += usize::from(s.anomalous == Some(true));
                plain_flags += usize::from(p.anomalous == Some(true));
            }
        }
        assert_eq!(seasonal_flags, 0, "the daily peak is expected at its hour");
        assert!(
            plain_flags > 0,
            "without seasonality the peak looks anomalous"
        );
        // And the peak's level at 03:00 is an anomaly for the seasonal detector.
        let t = 14 * 24 * HOUR_MS + 3 * HOUR_MS;
        assert_eq!(seasonal.observe(t, 200.0).anomalous, Some(true));
    }
}
