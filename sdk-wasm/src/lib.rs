//! perfwatch browser SDK: Rust compiled to WebAssembly.
//!
//! ```text
//!  PerformanceObserver ─▶ observe.rs ─▶ vitals::{fcp, lcp, cls, inp, ttfb}  ─▶ monitor::Core
//!  (paint, LCP, shifts,                  web-vitals semantics + attribution      (page views,
//!   events, long tasks,                  long_tasks, resources, navigation        queue, caps)
//!   LoAF, resources)    lifecycle.rs: visibility, bfcache, idle, activation   │          │
//!                                                               onMetric(m) ◀─┘          ▼
//!  apiCall / timed (npm layer) ─▶ scrub ─▶ beforeSend ─▶ queue (session, sampling)
//!     flushAt / flushInterval / report() ─▶ wire (JSON) ─▶ transport: fetch via the host,
//!                                          answers, retries, keepalive budget ─▶ outbox
//!     visibilitychange→hidden / pagehide ─▶ transport::unload: sendBeacon ─▶ outbox
//! ```
//!
//! The npm package `perfwatch` loads this module and exposes [`init`] through a thin
//! TypeScript layer. Every metric reaches `onMetric` in web-vitals' shape and the collector as a
//! protocol v1 `web_vital` event.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod bindings;
mod lifecycle;
mod long_tasks;
mod monitor;
mod navigation;
mod observe;
mod options;
mod outbox;
mod resources;
mod retry;
pub mod scrub;
mod selector;
mod session;
mod sort;
mod transport;
mod vitals;
pub mod wire;

/// The pure bookkeeping behind the metrics and the delivery, and the scrubbing of what the SDK
/// sends, public for the browser test suite (`tests/logic.rs`, run in headless Chromium).
pub mod logic {
    pub use crate::bindings::Host;
    pub use crate::outbox::{Entry as OutboxEntry, Outbox};
    pub use crate::scrub;
    pub use crate::transport::{Counts, Transport, KEEPALIVE_BUDGET, MAX_IN_FLIGHT};
    pub mod retry {
        pub use crate::retry::*;
    }
    pub mod session {
        pub use crate::session::*;
    }
    pub use crate::sort::stable_sort_by;
    pub use crate::vitals::{interactions, layout_shifts, rate};
}

use crate::prelude::*;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use monitor::Core;
use options::Options;

/// A running monitor; one per page.
#[wasm_bindgen]
pub struct Monitor {
    core: &'static Core,
}

#[wasm_bindgen]
impl Monitor {
    /// Sends everything measured so far now, rather than when the page is hidden.
    pub fn report(&self) {
        self.core.flush();
    }

    /// The collector's answer to request `id` (called by the npm layer's host).
    pub fn answered(&self, id: u32, status: u16, retry_after_ms: f64) {
        self.core.answered(id, status, retry_after_ms);
    }

    /// Sets the pseudonymous user id of what is sent from now on (`undefined` clears it).
    #[wasm_bindgen(js_name = setUser)]
    pub fn set_user(&self, user_id: Option<String>) {
        self.core.set_user(user_id);
    }

    /// Records an `api_call` event (the npm layer's `monitorApiCall` and fetch
    /// instrumentation time the call).
    #[wasm_bindgen(js_name = apiCall)]
    #[allow(clippy::too_many_arguments)]
    pub fn api_call(
        &self,
        name: String,
        method: Option<String>,
        url: Option<String>,
        status: u16,
        ok: bool,
        start_time: f64,
        duration: f64,
        error_type: Option<String>,
        trace_id: Option<String>,
    ) {
        self.core.record_api_call(wire::ApiCall {
            name,
            method,
            url,
            status,
            ok,
            start_time,
            duration,
            error_type,
            trace_id,
        });
    }

    /// Records an `interaction` (`ok`: the handler did not throw) or, with `ok` undefined, a
    /// `measure` event.
    pub fn timed(&self, name: String, start_time: f64, duration: f64, ok: Option<bool>) {
        self.core.record_timed(&name, start_time, duration, ok);
    }

    /// Records an `error` event (`kind`: `render` from an error boundary, or the app's own).
    #[wasm_bindgen(js_name = recordError)]
    pub fn record_error(
        &self,
        kind: String,
        name: Option<String>,
        message: String,
        stack: Option<String>,
        component_stack: Option<String>,
    ) {
        self.core.record_error(wire::BrowserError {
            kind,
            name,
            message,
            stack,
            component_stack,
            start_time: bindings::now(),
        });
    }

    /// What was not sent or not delivered so far: `[dropped, delivered, refused, beaconed,
    /// lostBatches]` (events, except lost batches of the offline store).
    pub fn counts(&self) -> Vec<u32> {
        let (dropped, t) = self.core.counts();
        vec![dropped, t.delivered, t.refused, t.beaconed, t.lost_batches]
    }

    /// The session's id, as the collector stores it.
    #[wasm_bindgen(getter, js_name = sessionId)]
    pub fn session_id(&self) -> String {
        self.core.session_id()
    }

    /// Starts a new page view for a route change the browser does not report as a soft
    /// navigation (the npm layer calls this on history changes where soft navigations are not
    /// followed): the SDK's own events go to it; web vitals stay with the page load.
    #[wasm_bindgen(js_name = pageView)]
    pub fn page_view(&self, route: Option<String>) {
        self.core.start_page_view(
            "soft-navigation",
            bindings::now(),
            Some(self.core.page_url(&monitor::location_href())),
        );
        self.core.set_route(route);
    }

    /// Names the current page view's route, e.g. `/chat/:id`.
    #[wasm_bindgen(js_name = setRoute)]
    pub fn set_route(&self, route: Option<String>) {
        self.core.set_route(route);
    }

    /// Whether the browser reports soft navigations, which the SDK then follows itself.
    #[wasm_bindgen(getter, js_name = followsSoftNavigations)]
    pub fn follows_soft_navigations(&self) -> bool {
        self.core.soft_navigations
    }

    /// The current page view's id.
    #[wasm_bindgen(getter, js_name = pageViewId)]
    pub fn page_view_id(&self) -> String {
        String::from(&*self.core.page_view_id())
    }
}

/// Starts monitoring the page: observes paints, layout shifts, interactions, long tasks,
/// resources and the navigation, and sends what it measured when the page is hidden or
/// unloaded. Options: `{ endpoint, app, key?, release?, userId?, route?, sampleRate?,
/// onMetric?, maxResources?, resourceSampleRate?, maxLongTasks?, flushAt?, flushInterval?,
/// compress?, beforeSend?, allowedQueryParams?, allowedResourceOrigins?, redact? }` (the
/// README has each with its default). `early`: the `event` and
/// `first-input` entries the npm layer buffered while this module loaded, or `undefined`.
/// `host`: the npm layer's I/O ([`bindings::Host`]).
#[wasm_bindgen]
pub fn init(options: JsValue, early: JsValue, host: JsValue) -> Result<Monitor, JsError> {
    // The monitor lives as long as the page: its callbacks share a plain reference.
    let options = Options::from_js(&options)?;
    let core: &'static Core = leak(Core::new(options, host.unchecked_into()));
    core.resend_stored();
    core.enqueue(wire::page_view(
        &core.next_event_id(),
        lifecycle::navigation_type(),
        0.0,
    ));
    // A page restored from the back/forward cache is a new page view; this runs before the
    // metrics start theirs, so that they belong to it.
    lifecycle::on_bfcache_restore(move |at| {
        core.start_page_view("back-forward-cache", at, None);
    });
    // So is a soft navigation the browser reports; this observer runs before the metrics'.
    if core.soft_navigations {
        let start = move |entries: alloc::vec::Vec<bindings::Entry>| {
            for entry in entries {
                let url = core.page_url(&entry.name());
                core.start_page_view("soft-navigation", entry.start_time(), Some(url));
            }
        };
        if let Some(observer) =
            observe::observe(observe::Observe::buffered(&["soft-navigation"]), start)
        {
            // The browser may not have delivered the last route change when the user leaves:
            // it goes out with the final flush, which runs after this.
            lifecycle::on_hidden(move || start(observe::sorted(observer.take_records(), false)));
        }
    }
    vitals::fcp::observe_fcp(core, move || vitals::cls::observe_cls(core));
    vitals::lcp::observe_lcp(core);
    vitals::inp::observe_inp(core, early.dyn_into::<js_sys::Array>().ok());
    vitals::ttfb::observe_ttfb(core);
    navigation::observe_navigation(core);
    long_tasks::observe_long_tasks(core);
    resources::observe_resources(core);
    flush_when_hidden(core);
    Ok(Monitor { core })
}

/// Flushes when the page is hidden (the last moment a page is reliably alive on mobile) and on
/// `pagehide` (desktop unloads that skip visibilitychange). The hidden listener sits on the
/// document, in the target phase, so it runs after the metrics' own capture listeners on
/// `window` have finalised LCP for the same event.
fn flush_when_hidden(core: &'static Core) {
    let on_hidden = lifecycle::function(move |_| {
        if lifecycle::is_hidden() {
            core.flush_unload();
        }
    });
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        let _ = document.add_event_listener_with_callback("visibilitychange", &on_hidden);
    }
    lifecycle::listen("pagehide", move |_| core.flush_unload());
}

/// What every module uses from `alloc`, so that the crate builds with and without `std`.
mod prelude {
    pub use alloc::boxed::Box;
    pub use alloc::string::{String, ToString};

    /// State that lives as long as the page, shared by its callbacks as a plain reference
    /// (reference counting in every callback cost code and did nothing: nothing is ever freed).
    pub fn leak<T>(value: T) -> &'static T {
        alloc::boxed::Box::leak(Box::new(value))
    }
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

/// Without `std` (the shipped module) a panic stops the module: it has no messages to print,
/// and formatting them would cost kilobytes.
#[cfg(all(not(feature = "std"), target_arch = "wasm32"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// A small allocator: std's dlmalloc costs about 3 KB gzip. The page runs one thread.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    // SAFETY: WebAssembly in the browser's main thread has no other threads.
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
