//! Core Web Vitals with web-vitals' semantics: one module per metric, each readable top to
//! bottom as the definition of that metric; the reporting rules (`bindReporter`) here.

pub mod fcp;
pub mod lcp;
pub mod ttfb;

use js_sys::Array;

use crate::bindings;
use crate::lifecycle;
use crate::monitor::Core;
use crate::wire::{self, VitalReport};

/// One metric instance, as web-vitals' `initMetric` creates it, plus the report count `seq`.
pub struct Metric {
    pub name: &'static str,
    /// web-vitals' thresholds: at most the first is good, above the second poor.
    thresholds: (f64, f64),
    /// -1 until measured.
    pub value: f64,
    pub delta: f64,
    pub rating: &'static str,
    /// `v6-<epoch ms>-<13 random digits>`, as web-vitals makes them.
    pub id: String,
    pub navigation_type: &'static str,
    pub entries: Array,
    /// The last reported value (`prevValue` in `bindReporter`).
    reported: Option<f64>,
    /// How many times this metric was reported; the collector keeps the highest.
    seq: u32,
}

impl Metric {
    pub fn new(name: &'static str, thresholds: (f64, f64)) -> Metric {
        Metric {
            name,
            thresholds,
            value: -1.0,
            delta: 0.0,
            rating: "good",
            id: unique_id(),
            navigation_type: lifecycle::navigation_type(),
            entries: Array::new(),
            reported: None,
            seq: 0,
        }
    }

    /// web-vitals' `bindReporter` without `reportAllChanges`: report when forced, once a value
    /// exists, and only if it changed (or was never reported — a 0 on a hidden page still counts,
    /// web-vitals issue 14).
    pub fn report(&mut self, force: bool, core: &Core) {
        if self.value < 0.0 || !force {
            return;
        }
        let delta = self.value - self.reported.unwrap_or(0.0);
        if delta != 0.0 || self.reported.is_none() {
            self.reported = Some(self.value);
            self.delta = delta;
            self.rating = rate(self.value, self.thresholds);
            self.seq += 1;
            core.emit_metric(self);
        }
    }

    /// This report as protocol v1's `web_vital` event.
    pub fn wire(&self) -> VitalReport<'_> {
        VitalReport {
            name: self.name,
            value: self.value,
            delta: self.delta,
            id: &self.id,
            seq: self.seq,
            rating: self.rating,
            navigation_type: self.navigation_type,
        }
    }
}

fn rate(value: f64, (good, poor): (f64, f64)) -> &'static str {
    if value > poor {
        "poor"
    } else if value > good {
        "needs-improvement"
    } else {
        "good"
    }
}

/// web-vitals' `generateUniqueID`: `v6-${Date.now()}-${Math.floor(Math.random() * (9e12 - 1)) + 1e12}`.
fn unique_id() -> String {
    let mut id = String::from("v6-");
    wire::number(&mut id, js_sys::Date::now());
    id.push('-');
    wire::number(
        &mut id,
        (js_sys::Math::random() * (9e12 - 1.0)).floor() + 1e12,
    );
    id
}

/// A paint time relative to activation, clamped at 0 (paints during a prerender count as 0).
pub fn since_activation(start_time: f64) -> f64 {
    (start_time - lifecycle::activation_start()).max(0.0)
}

/// The entries of `list`, as a typed iterator.
pub fn entries(list: &Array) -> impl Iterator<Item = bindings::PerfEntry> + '_ {
    use wasm_bindgen::JsCast;
    list.iter().map(|e| e.unchecked_into())
}

#[cfg(test)]
mod tests {
    use super::rate;

    #[test]
    fn ratings_match_web_vitals_boundaries() {
        assert_eq!(rate(2500.0, (2500.0, 4000.0)), "good");
        assert_eq!(rate(2500.5, (2500.0, 4000.0)), "needs-improvement");
        assert_eq!(rate(4000.0, (2500.0, 4000.0)), "needs-improvement");
        assert_eq!(rate(4000.5, (2500.0, 4000.0)), "poor");
    }
}
