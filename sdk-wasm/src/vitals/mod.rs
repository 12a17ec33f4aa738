//! Core Web Vitals with web-vitals' semantics: one module per metric, each readable top to
//! bottom as the definition of that metric; the reporting rules (`initMetric`, `bindReporter`)
//! here, and the pure bookkeeping (session windows, the longest interactions) in modules of
//! their own that are tested without a browser.

use crate::prelude::*;

pub mod cls;
pub mod fcp;
pub mod inp;
pub mod interactions;
pub mod layout_shifts;
pub mod lcp;
pub mod ttfb;

use alloc::rc::Rc;

use js_sys::Array;

use crate::bindings::Entry;
use crate::lifecycle;
use crate::monitor::Core;
use crate::wire;

pub use crate::wire::{Attribution, Value};

/// One metric instance, as web-vitals' `initMetric` creates it, plus the report count `seq`
/// and the page view it belongs to.
pub struct Metric {
    pub name: &'static str,
    /// web-vitals' thresholds: at most the first is good, above the second poor.
    thresholds: (f64, f64),
    /// -1 until measured (0 from the start for CLS).
    pub value: f64,
    pub delta: f64,
    pub rating: &'static str,
    /// `v6-<epoch ms>-<13 random digits>`, as web-vitals makes them.
    pub id: String,
    pub navigation_type: &'static str,
    pub entries: Array,
    pub attribution: Attribution,
    /// The page view the metric measures (a bfcache restore or soft navigation starts another).
    pub page_view_id: Rc<str>,
    /// The soft navigation the metric measures, if it measures one.
    pub soft_navigation: Option<SoftNavigation>,
    /// The last reported value (`prevValue` in `bindReporter`).
    reported: Option<f64>,
    /// How many times this metric was reported; the collector keeps the highest.
    seq: u32,
}

impl Metric {
    /// A new instance of metric `name` for the current page view; `navigation_type` `None` is
    /// the page load's own.
    pub fn new(
        name: &'static str,
        thresholds: (f64, f64),
        value: f64,
        navigation_type: Option<&'static str>,
        core: &'static Core,
    ) -> Metric {
        Metric {
            name,
            thresholds,
            value,
            delta: 0.0,
            rating: "good",
            id: unique_id(),
            navigation_type: navigation_type.unwrap_or_else(lifecycle::navigation_type),
            entries: Array::new(),
            attribution: Vec::new(),
            page_view_id: core.page_view_id(),
            soft_navigation: None,
            reported: None,
            seq: 0,
        }
    }

    /// A new instance for the page view a soft navigation started (web-vitals' `initMetric`
    /// with `'soft-navigation'` and the entry's ids).
    pub fn for_soft_navigation(
        name: &'static str,
        thresholds: (f64, f64),
        value: f64,
        soft_navigation: &SoftNavigation,
        core: &'static Core,
    ) -> Metric {
        let mut metric = Metric::new(name, thresholds, value, Some("soft-navigation"), core);
        metric.soft_navigation = Some(soft_navigation.clone());
        metric
    }

    /// web-vitals' `bindReporter` without `reportAllChanges`: report when forced, once a value
    /// exists, and only if it changed (or was never reported — a 0 on a hidden page still counts,
    /// web-vitals issue 14).
    pub fn report(&mut self, force: bool, core: &'static Core) {
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

    /// This report as protocol v1's `web_vital` event; `current_page_view`: the batch's.
    pub fn wire(&self, current_page_view: &str) -> wire::VitalReport<'_> {
        wire::VitalReport {
            name: self.name,
            value: self.value,
            delta: self.delta,
            id: &self.id,
            seq: self.seq,
            rating: self.rating,
            navigation_type: self.navigation_type,
            attribution: &self.attribution,
            page_view_id: (*self.page_view_id != *current_page_view).then_some(&*self.page_view_id),
        }
    }
}

/// A `soft-navigation` entry: a route change of a single-page app that the browser saw start
/// with an interaction and paint new content.
#[derive(Clone, Debug)]
pub struct SoftNavigation {
    /// `interactionId` of the interaction that started it.
    pub interaction_id: f64,
    pub start_time: f64,
}

impl SoftNavigation {
    pub fn of(entry: &Entry) -> SoftNavigation {
        SoftNavigation {
            interaction_id: entry.num("interactionId"),
            start_time: entry.start_time(),
        }
    }
}

/// Whether soft navigations can be followed: the browser reports `soft-navigation` entries with
/// `getLargestInteractionContentfulPaint` (what web-vitals' `reportSoftNavs` requires). Asked
/// once, by [`Core::new`]; the metrics read `Core::soft_navigations`.
pub fn soft_navigations_enabled() -> bool {
    crate::observe::supports("soft-navigation")
        && Entry(js_sys::global().into())
            .child("PerformanceSoftNavigation")
            .and_then(|c| c.child("prototype"))
            .is_some_and(|p| p.get("getLargestInteractionContentfulPaint").is_function())
}

/// The types to observe: `types` (whose last is `soft-navigation`), without the last when soft
/// navigations are not followed.
pub fn with_soft_navigations(
    core: &'static Core,
    types: &'static [&'static str],
) -> &'static [&'static str] {
    if core.soft_navigations {
        types
    } else {
        &types[..types.len() - 1]
    }
}

/// web-vitals' `getRating`.
pub fn rate(value: f64, (good, poor): (f64, f64)) -> &'static str {
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
        // The floor of a non-negative number (`f64::floor` needs std).
        ((js_sys::Math::random() * (9e12 - 1.0)) as u64) as f64 + 1e12,
    );
    id
}

/// A paint time relative to activation, clamped at 0 (paints during a prerender count as 0).
pub fn since_activation(start_time: f64) -> f64 {
    (start_time - lifecycle::activation_start()).max(0.0)
}
