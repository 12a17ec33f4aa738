//! First Contentful Paint (web-vitals `onFCP`): the `first-contentful-paint` paint entry,
//! relative to activation, reported once — unless the page was hidden before it painted.
//! After a bfcache restore, the time from `pageshow` to the next presented frame.

use crate::prelude::*;

use core::cell::RefCell;

use crate::lifecycle;
use crate::monitor::Core;
use crate::observe::{observe, Observe};
use crate::vitals::{since_activation, Metric, SoftNavigation};

/// web-vitals' `FCPThresholds`.
pub const THRESHOLDS: (f64, f64) = (1800.0, 3000.0);

/// Observes FCP; `on_report` runs after the first report (CLS starts then, as in web-vitals).
pub fn observe_fcp(core: &'static Core, on_report: impl FnOnce() + 'static) {
    lifecycle::when_activated(move || {
        // Start watching visibility now, as web-vitals' getVisibilityWatcher() does here.
        lifecycle::first_hidden_time();
        let metric = leak(RefCell::new(Metric::new(
            "FCP", THRESHOLDS, -1.0, None, core,
        )));
        let on_report = leak(RefCell::new(Some(on_report)));
        let reported = move || {
            if let Some(callback) = on_report.borrow_mut().take() {
                callback();
            }
        };
        let observer = leak(RefCell::new(None));
        let on_entries = move |entries: Vec<crate::bindings::Entry>| {
            for entry in entries {
                if entry.name() != "first-contentful-paint" {
                    continue;
                }
                if let Some(po) = observer.borrow().as_ref() {
                    crate::bindings::PerfObserver::disconnect(po);
                }
                // Only if the page was not hidden before it painted.
                if entry.start_time() < lifecycle::first_hidden_time() {
                    let mut metric = metric.borrow_mut();
                    metric.value = since_activation(entry.start_time());
                    metric.entries.push(&entry.0);
                    metric.report(true, core);
                    drop(metric);
                    reported();
                }
            }
        };
        let Some(po) = observe(Observe::buffered(&["paint"]), on_entries) else {
            return;
        };
        *observer.borrow_mut() = Some(po);
        if core.soft_navigations {
            observe(Observe::buffered(&["soft-navigation"]), move |entries| {
                for entry in entries {
                    // The soft navigation's first paint, relative to its start.
                    let paint = entry
                        .opt_num("presentationTime")
                        .filter(|t| *t != 0.0)
                        .unwrap_or_else(|| entry.num("paintTime"));
                    let soft = SoftNavigation::of(&entry);
                    let value = (paint - soft.start_time).max(0.0);
                    Metric::for_soft_navigation("FCP", THRESHOLDS, value, &soft, core)
                        .report(true, core);
                }
            });
        }
        lifecycle::on_bfcache_restore(move |_| {
            *metric.borrow_mut() =
                Metric::new("FCP", THRESHOLDS, -1.0, Some("back-forward-cache"), core);
        });
        lifecycle::on_bfcache_restore_painted(move |paint_delay| {
            let mut fcp = metric.borrow_mut();
            fcp.value = paint_delay;
            fcp.report(true, core);
            drop(fcp);
            reported();
        });
    });
}
