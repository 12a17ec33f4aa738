//! Subscribing to performance entries, as web-vitals' `lib/observe.ts` does.

use crate::prelude::*;

use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::bindings::{self, set, Entry, PerfEntryList, PerfObserver};
use crate::lifecycle;

/// How to observe.
#[derive(Clone, Copy)]
pub struct Observe<'a> {
    pub types: &'a [&'a str],
    /// Deliver the entries the browser buffered before the observer existed.
    pub buffered: bool,
    /// `durationThreshold` for `event` entries.
    pub duration_threshold: Option<f64>,
}

impl<'a> Observe<'a> {
    /// `types`, buffered.
    pub fn buffered(types: &'a [&'a str]) -> Self {
        Observe {
            types,
            buffered: true,
            duration_threshold: None,
        }
    }
}

/// Whether the browser reports `entry_type` entries.
pub fn supports(entry_type: &str) -> bool {
    PerfObserver::supported_entry_types()
        .is_some_and(|types| types.includes(&JsValue::from_str(entry_type), 0))
}

/// Observes the supported ones of `how.types`; `callback` gets each list of entries in a
/// microtask of its own (Safari invokes observer callbacks synchronously; web-vitals issue 277),
/// sorted by end time when several types are observed (their entries can arrive out of order).
/// `None` when the browser supports none of the types.
pub fn observe(
    how: Observe<'_>,
    callback: impl FnMut(Vec<Entry>) + 'static,
) -> Option<PerfObserver> {
    observe_boxed(how, Box::new(callback))
}

/// Not generic: one copy in the module instead of one per caller.
#[inline(never)]
fn observe_boxed(how: Observe<'_>, callback: Box<dyn FnMut(Vec<Entry>)>) -> Option<PerfObserver> {
    let types: Vec<&str> = how.types.iter().copied().filter(|t| supports(t)).collect();
    if types.is_empty() {
        return None;
    }
    let several = types.len() > 1;
    // One callback per observer, for the life of the page.
    let callback = crate::prelude::leak(core::cell::RefCell::new(callback));
    let on_entries = lifecycle::function(move |list: JsValue| {
        let entries = list.unchecked_into::<PerfEntryList>().get_entries();
        bindings::queue_microtask(&lifecycle::function_once(move || {
            (callback.borrow_mut())(sorted(entries, several));
        }));
    });
    let observer = PerfObserver::new(&on_entries).ok()?;
    for entry_type in types {
        let options = Object::new();
        set(&options, "type", entry_type.into());
        set(&options, "buffered", how.buffered.into());
        if let Some(threshold) = how.duration_threshold {
            set(&options, "durationThreshold", threshold.into());
        }
        observer.observe(&options).ok()?;
    }
    Some(observer)
}

/// The entries of `list`, sorted by end time when `by_end` (a stable sort, as `Array.sort`).
pub fn sorted(list: Array, by_end: bool) -> Vec<Entry> {
    let mut entries: Vec<Entry> = list.iter().map(Entry).collect();
    if by_end {
        let end = |e: &Entry| e.start_time() + e.duration();
        crate::sort::stable_sort_by(&mut entries, |a, b| end(a) < end(b));
    }
    entries
}
