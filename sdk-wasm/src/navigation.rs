//! The page load's timing breakdown, from the `navigation` entry after the load event.

use crate::prelude::*;

use crate::bindings::Entry;
use crate::lifecycle;
use crate::monitor::Core;
use crate::wire::{self, NavigationTiming};

/// Queues one `navigation` event once the page has loaded.
pub fn observe_navigation(core: &'static Core) {
    lifecycle::when_loaded(move || {
        if let Some(entry) = lifecycle::navigation_entry() {
            core.enqueue(wire::navigation(&core.next_event_id(), &timing(&entry)));
        }
    });
}

/// Phase durations from the entry's marks; a phase whose marks are missing (0, e.g. TLS on
/// plain HTTP or a reused connection) counts 0.
fn timing(e: &Entry) -> NavigationTiming {
    let span = |start: f64, end: f64| {
        if start > 0.0 && end > start {
            end - start
        } else {
            0.0
        }
    };
    let tls_start = e.num("secureConnectionStart");
    NavigationTiming {
        navigation_type: lifecycle::navigation_type().to_string(),
        protocol: e.string("nextHopProtocol"),
        redirect: span(e.num("redirectStart"), e.num("redirectEnd")),
        dns: span(e.num("domainLookupStart"), e.num("domainLookupEnd")),
        connect: span(e.num("connectStart"), e.num("connectEnd")),
        tls: span(tls_start, e.num("connectEnd")),
        ttfb: e.num("responseStart"),
        request: span(e.num("requestStart"), e.num("responseStart")),
        download: span(e.num("responseStart"), e.num("responseEnd")),
        dom_interactive: e.num("domInteractive"),
        dom_content_loaded: e.num("domContentLoadedEventEnd"),
        dom_complete: e.num("domComplete"),
        load: e.num("loadEventEnd"),
        transfer_size: e.opt_num("transferSize"),
        encoded_body_size: e.opt_num("encodedBodySize"),
        decoded_body_size: e.opt_num("decodedBodySize"),
    }
}
