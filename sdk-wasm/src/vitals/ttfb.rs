//! Time to First Byte (web-vitals `onTTFB`): the navigation entry's `responseStart` relative to
//! activation, read after the load event so the entry is complete; 0 after a bfcache restore.

use crate::lifecycle;
use crate::monitor::Core;
use crate::observe::{observe, Observe};
use crate::vitals::{since_activation, Metric, SoftNavigation};

/// web-vitals' `TTFBThresholds`.
pub const THRESHOLDS: (f64, f64) = (800.0, 1800.0);

pub fn observe_ttfb(core: &'static Core) {
    let mut metric = Metric::new("TTFB", THRESHOLDS, -1.0, None, core);
    lifecycle::when_loaded(move || {
        // No entry, or an implausible responseStart: no TTFB rather than a wrong one.
        let Some(entry) = lifecycle::navigation_entry() else {
            return;
        };
        metric.value = since_activation(entry.num("responseStart"));
        metric.entries.push(&entry.0);
        metric.report(true, core);
        let restored = core;
        lifecycle::on_bfcache_restore(move |_| {
            Metric::new(
                "TTFB",
                THRESHOLDS,
                0.0,
                Some("back-forward-cache"),
                restored,
            )
            .report(true, restored);
        });
        if core.soft_navigations {
            // A soft navigation fetches no document: its TTFB is 0.
            observe(Observe::buffered(&["soft-navigation"]), move |entries| {
                for entry in entries.iter().filter(|e| e.num("navigationId") != 0.0) {
                    let soft = SoftNavigation::of(entry);
                    let mut metric =
                        Metric::for_soft_navigation("TTFB", THRESHOLDS, 0.0, &soft, core);
                    metric.entries.push(&entry.0);
                    metric.report(true, core);
                }
            });
        }
    });
}
