//! The page load's timing breakdown, from the `navigation` entry after the load event.

use std::rc::Rc;

use crate::bindings::NavigationEntry;
use crate::lifecycle;
use crate::monitor::Core;
use crate::wire::{self, NavigationTiming};

/// Queues one `navigation` event once the page has loaded.
pub fn observe_navigation(core: Rc<Core>) {
    lifecycle::when_loaded(move || {
        if let Some(entry) = lifecycle::navigation_entry() {
            core.enqueue(wire::navigation(&core.next_event_id(), &timing(&entry)));
        }
    });
}

/// Phase durations from the entry's marks; a phase whose marks are missing (0, e.g. TLS on
/// plain HTTP or a reused connection) counts 0.
fn timing(e: &NavigationEntry) -> NavigationTiming {
    let span = |start: f64, end: f64| {
        if start > 0.0 && end > start {
            end - start
        } else {
            0.0
        }
    };
    let tls_start = e.secure_connection_start();
    NavigationTiming {
        navigation_type: lifecycle::navigation_type().to_string(),
        protocol: e.next_hop_protocol(),
        redirect: span(e.redirect_start(), e.redirect_end()),
        dns: span(e.domain_lookup_start(), e.domain_lookup_end()),
        connect: span(e.connect_start(), e.connect_end()),
        tls: span(tls_start, e.connect_end()),
        ttfb: e.response_start(),
        download: span(e.response_start(), e.response_end()),
        dom_interactive: e.dom_interactive(),
        dom_content_loaded: e.dom_content_loaded_event_end(),
        dom_complete: e.dom_complete(),
        load: e.load_event_end(),
        transfer_size: e.transfer_size(),
        encoded_body_size: e.encoded_body_size(),
        decoded_body_size: e.decoded_body_size(),
    }
}
