//! Resource timing: every resource the page fetched (`PerformanceResourceTiming`), sampled
//! (`resourceSampleRate`) and capped per page view (`maxResources`). Requests to the collector
//! itself are not measured.

use crate::prelude::*;

use alloc::collections::VecDeque;
use core::cell::RefCell;

use crate::bindings::Entry;
use crate::monitor::{Capped, Core};
use crate::observe::{observe, Observe};
use crate::wire::{self, Resource};

/// web-vitals keeps the last 50 resource entries for LCP attribution: the browser's own buffer
/// (`getEntriesByType`) stops at 250 entries, and a late LCP image comes after those.
const RECENT: usize = 50;

struct Recent(RefCell<VecDeque<Entry>>);

// SAFETY: the SDK runs on the browser's main thread only; WebAssembly there has no other
// threads that could reach this state.
unsafe impl Sync for Recent {}

static RECENT_ENTRIES: Recent = Recent(RefCell::new(VecDeque::new()));

/// The most recent resource entry (of the last 50 observed, then the browser's buffer) that
/// matches.
pub fn find_last(matches: impl Fn(&Entry) -> bool) -> Option<Entry> {
    let recent = RECENT_ENTRIES
        .0
        .borrow()
        .iter()
        .rev()
        .find(|e| matches(e))
        .cloned();
    recent.or_else(|| {
        let entries = crate::bindings::entries_by_type("resource");
        (0..entries.length())
            .rev()
            .map(|i| Entry(entries.get(i)))
            .find(|e| matches(e))
    })
}

pub fn observe_resources(core: &'static Core) {
    let own = core.options.endpoint.clone();
    observe(Observe::buffered(&["resource"]), move |entries| {
        let options = &core.options;
        for entry in entries {
            {
                let mut recent = RECENT_ENTRIES.0.borrow_mut();
                if recent.len() == RECENT {
                    recent.pop_front();
                }
                recent.push_back(entry.clone());
            }
            let name = entry.name();
            if name.starts_with(&own) || js_sys::Math::random() >= options.resource_sample_rate {
                continue;
            }
            if core.take_capped(Capped::Resource, options.max_resources) {
                let name = core.resource_url(&name);
                let event = wire::resource(&core.next_event_id(), &resource(&entry, name));
                core.enqueue(event);
            }
        }
    });
}

fn resource(entry: &Entry, name: String) -> Resource {
    Resource {
        name,
        initiator_type: entry.string("initiatorType").unwrap_or_default(),
        start_time: entry.start_time(),
        duration: entry.duration(),
        transfer_size: entry.opt_num("transferSize"),
        encoded_body_size: entry.opt_num("encodedBodySize"),
        decoded_body_size: entry.opt_num("decodedBodySize"),
        render_blocking_status: entry.string("renderBlockingStatus"),
        // 0 where the browser may not tell (cross-origin without Timing-Allow-Origin).
        response_status: entry.opt_num("responseStatus").filter(|s| *s > 0.0),
        protocol: entry.string("nextHopProtocol"),
    }
}
