//! Time to First Byte (web-vitals `onTTFB`): the navigation entry's `responseStart` relative to
//! activation, read after the load event so the entry is complete.

use std::rc::Rc;

use crate::lifecycle;
use crate::monitor::Core;
use crate::vitals::{since_activation, Metric};

/// web-vitals' `TTFBThresholds`.
pub const THRESHOLDS: (f64, f64) = (800.0, 1800.0);

pub fn observe_ttfb(core: Rc<Core>) {
    let mut metric = Metric::new("TTFB", THRESHOLDS);
    lifecycle::when_loaded(move || {
        // No entry, or an implausible responseStart: no TTFB rather than a wrong one.
        if let Some(entry) = lifecycle::navigation_entry() {
            metric.value = since_activation(entry.response_start());
            metric.entries.push(&entry);
            metric.report(true, &core);
        }
    });
}
