//! perfwatch browser SDK: Rust compiled to WebAssembly.
//!
//! ```text
//!  PerformanceObserver ──▶ vitals::{fcp, lcp, ttfb}, navigation ──▶ monitor::Core (queue)
//!      (observe.rs)              web-vitals semantics                  │        │
//!                                                         onMetric(m) ◀┘        ▼
//!                     visibilitychange→hidden / pagehide / report() ──▶ wire (JSON) ──▶ transport
//!                                                                  (sendBeacon, fetch keepalive)
//! ```
//!
//! The npm package `perfwatch` loads this module and exposes [`init`] through a thin
//! TypeScript layer. Every metric reaches `onMetric` in web-vitals' shape and the collector as a
//! protocol v1 `web_vital` event.

mod bindings;
mod lifecycle;
mod monitor;
mod navigation;
mod observe;
mod options;
mod transport;
mod vitals;
pub mod wire;

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use monitor::Core;
use options::Options;

/// A running monitor; one per page.
#[wasm_bindgen]
pub struct Monitor {
    core: Rc<Core>,
}

#[wasm_bindgen]
impl Monitor {
    /// Sends everything measured so far now, rather than when the page is hidden.
    pub fn report(&self) {
        self.core.flush();
    }

    /// The session's id, as the collector stores it.
    #[wasm_bindgen(getter, js_name = sessionId)]
    pub fn session_id(&self) -> String {
        self.core.session_id().to_string()
    }

    /// The current page view's id.
    #[wasm_bindgen(getter, js_name = pageViewId)]
    pub fn page_view_id(&self) -> String {
        self.core.page_view_id().to_string()
    }
}

/// Starts monitoring the page: observes paints and the navigation, and sends what it measured
/// when the page is hidden or unloaded. Options: `{ endpoint, app, key?, release?, userId?,
/// route?, sampleRate?, onMetric? }`.
#[wasm_bindgen]
pub fn init(options: JsValue) -> Result<Monitor, JsError> {
    let core = Rc::new(Core::new(Options::from_js(&options)?));
    core.enqueue(wire::page_view(
        &core.next_event_id(),
        lifecycle::navigation_type(),
        0.0,
    ));
    vitals::fcp::observe_fcp(core.clone());
    vitals::lcp::observe_lcp(core.clone());
    vitals::ttfb::observe_ttfb(core.clone());
    navigation::observe_navigation(core.clone());
    flush_when_hidden(&core);
    Ok(Monitor { core })
}

/// Flushes when the page is hidden (the last moment a page is reliably alive on mobile) and on
/// `pagehide` (desktop unloads that skip visibilitychange). The hidden listener sits on the
/// document, in the target phase, so it runs after the metrics' own capture listeners on
/// `window` have finalised LCP for the same event.
fn flush_when_hidden(core: &Rc<Core>) {
    let on_hidden = {
        let core = core.clone();
        Closure::<dyn FnMut()>::new(move || {
            if lifecycle::is_hidden() {
                core.flush();
            }
        })
    };
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        let _ = document.add_event_listener_with_callback(
            "visibilitychange",
            on_hidden.as_ref().unchecked_ref(),
        );
    }
    on_hidden.forget();
    let core = core.clone();
    lifecycle::listen("pagehide", true, move |_| core.flush());
}
