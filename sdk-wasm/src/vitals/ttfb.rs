//! Time to First Byte (web-vitals `onTTFB`): the navigation entry's `responseStart` relative to
//! activation, read after the load event so the entry is complete; 0 after a bfcache restore.

use alloc::rc::Rc;

use crate::lifecycle;
use crate::monitor::Core;
use crate::vitals::{since_activation, Metric};

/// web-vitals' `TTFBThresholds`.
pub const THRESHOLDS: (f64, f64) = (800.0, 1800.0);

pub fn observe_ttfb(core: Rc<Core>) {
    let mut metric = Metric::new("TTFB", THRESHOLDS, -1.0, None, &core);
    lifecycle::when_loaded(move || {
        // No entry, or an implausible responseStart: no TTFB rather than a wrong one.
        let Some(entry) = lifecycle::navigation_entry() else {
            return;
        };
        metric.value = since_activation(entry.num("responseStart"));
        metric.entries.push(&entry.0);
        metric.report(true, &core);
        lifecycle::on_bfcache_restore(move |_| {
            Metric::new("TTFB", THRESHOLDS, 0.0, Some("back-forward-cache"), &core)
                .report(true, &core);
        });
    });
}
