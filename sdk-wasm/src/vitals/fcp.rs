//! First Contentful Paint (web-vitals `onFCP`): the `first-contentful-paint` paint entry,
//! relative to activation, reported once — unless the page was hidden before it painted.

use std::cell::RefCell;
use std::rc::Rc;

use crate::bindings::PerfObserver;
use crate::lifecycle;
use crate::monitor::Core;
use crate::observe::observe;
use crate::vitals::{entries, since_activation, Metric};

/// web-vitals' `FCPThresholds`.
pub const THRESHOLDS: (f64, f64) = (1800.0, 3000.0);

pub fn observe_fcp(core: Rc<Core>) {
    lifecycle::when_activated(move || {
        // Start watching visibility now, as web-vitals' getVisibilityWatcher() does here.
        lifecycle::first_hidden_time();
        let mut metric = Metric::new("FCP", THRESHOLDS);
        let observer: Rc<RefCell<Option<PerfObserver>>> = Rc::default();
        let po = observer.clone();
        *observer.borrow_mut() = observe("paint", move |list| {
            for entry in entries(&list) {
                if entry.name() != "first-contentful-paint" {
                    continue;
                }
                if let Some(po) = po.borrow().as_ref() {
                    po.disconnect();
                }
                // Only if the page was not hidden before it painted.
                if entry.start_time() < lifecycle::first_hidden_time() {
                    metric.value = since_activation(entry.start_time());
                    metric.entries.push(&entry);
                    metric.report(true, &core);
                }
            }
        });
    });
}
