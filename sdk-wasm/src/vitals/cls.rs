//! Cumulative Layout Shift (web-vitals `onCLS`): the largest session window of layout shifts
//! without recent input, observed from First Contentful Paint on and reported when the page is
//! hidden (with the shifts the observer had not delivered yet). A bfcache restore starts a new
//! metric at 0.
//!
//! Attribution (web-vitals' `CLSAttribution`): the largest shift's target, time and value.

use crate::prelude::*;

use core::cell::RefCell;

use crate::bindings::{Entry, PerfObserver};
use crate::lifecycle;
use crate::monitor::Core;
use crate::observe::{observe, sorted, Observe};
use crate::selector::selector;
use crate::vitals::layout_shifts::{largest, SessionWindow, Shift};
use crate::vitals::{with_soft_navigations, Attribution, Metric, SoftNavigation, Value};

/// web-vitals' `CLSThresholds`.
pub const THRESHOLDS: (f64, f64) = (0.1, 0.25);

/// What CLS keeps of a layout shift entry.
#[derive(Clone)]
struct ShiftEntry {
    entry: Entry,
    has_sources: bool,
    /// The largest source's selector, taken when the shift arrived (the node may go later).
    target: Option<String>,
}

struct Cls {
    metric: Metric,
    window: SessionWindow<ShiftEntry>,
    /// The shifts of the window `metric.value` comes from.
    shifts: Vec<Shift<ShiftEntry>>,
}

impl Cls {
    /// web-vitals' `handleEntries`: layout shifts, and soft navigations that end this page
    /// view's CLS (reported) and start the next.
    fn add(&mut self, entries: Vec<Entry>, core: &'static Core) {
        for entry in entries {
            if entry.get("entryType").as_string().as_deref() == Some("soft-navigation") {
                self.update();
                self.report(core);
                let soft = SoftNavigation::of(&entry);
                self.metric = Metric::for_soft_navigation("CLS", THRESHOLDS, 0.0, &soft, core);
                self.window.reset();
                continue;
            }
            let had_recent_input = entry.get("hadRecentInput").is_truthy();
            let sources = entry.list("sources");
            let shift = Shift {
                start_time: entry.start_time(),
                value: entry.num("value"),
                data: ShiftEntry {
                    has_sources: !sources.is_empty(),
                    target: if had_recent_input {
                        None
                    } else {
                        largest_source_target(&sources)
                    },
                    entry,
                },
            };
            self.window.add(had_recent_input, shift);
        }
        self.update();
    }

    /// The largest window so far is CLS.
    fn update(&mut self) {
        if self.window.value() > self.metric.value {
            self.metric.value = self.window.value();
            self.shifts = self.window.shifts().to_vec();
            self.metric.entries = self.shifts.iter().map(|s| s.data.entry.0.clone()).collect();
        }
    }

    fn report(&mut self, core: &'static Core) {
        self.metric.attribution = attribution(&self.shifts);
        self.metric.report(true, core);
    }
}

/// Starts observing; called after FCP has been reported, as web-vitals does.
pub fn observe_cls(core: &'static Core) {
    let state = leak(RefCell::new(Cls {
        metric: Metric::new("CLS", THRESHOLDS, 0.0, None, core),
        window: SessionWindow::default(),
        shifts: Vec::new(),
    }));
    let on_entries = move |entries| state.borrow_mut().add(entries, core);
    let types = with_soft_navigations(core, &["layout-shift", "soft-navigation"]);
    let Some(observer) = observe(Observe::buffered(types), on_entries) else {
        return;
    };
    let observer: &'static PerfObserver = leak(observer);
    lifecycle::on_hidden(move || {
        let mut cls = state.borrow_mut();
        cls.add(sorted(observer.take_records(), false), core);
        cls.report(core);
    });
    lifecycle::on_bfcache_restore(move |_| {
        let mut cls = state.borrow_mut();
        cls.metric = Metric::new("CLS", THRESHOLDS, 0.0, Some("back-forward-cache"), core);
        cls.window.reset();
        cls.shifts.clear();
    });
}

/// web-vitals' `getLargestLayoutShiftSource`: the first source that is an element, else the
/// first; its selector.
fn largest_source_target(sources: &[Entry]) -> Option<String> {
    let is_element = |s: &&Entry| s.child("node").is_some_and(|n| n.num("nodeType") == 1.0);
    let source = sources.iter().find(is_element).or(sources.first())?;
    Some(selector(&source.child("node")?))
}

fn attribution(shifts: &[Shift<ShiftEntry>]) -> Attribution {
    let mut attribution = Attribution::new();
    let Some(shift) = largest(shifts).filter(|s| s.data.has_sources) else {
        return attribution;
    };
    if let Some(target) = &shift.data.target {
        attribution.push(("largestShiftTarget", Value::Str(target.clone())));
    }
    attribution.push(("largestShiftTime", Value::Num(shift.start_time)));
    attribution.push(("largestShiftValue", Value::Num(shift.value)));
    attribution.push((
        "loadState",
        Value::Str(lifecycle::load_state(shift.start_time).to_string()),
    ));
    attribution
}
