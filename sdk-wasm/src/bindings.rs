//! Browser APIs that web-sys does not bind (or binds without the members we need), declared in
//! one place with typed, `structural` getters instead of scattered `Reflect::get` calls.
//! See ../shared/TOOLCHAIN.md, "web-sys gaps".

use js_sys::{Array, Function, Object};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `PerformanceObserver`, with the `{type, buffered}` form of `observe()`.
    #[wasm_bindgen(js_name = PerformanceObserver)]
    pub type PerfObserver;

    #[wasm_bindgen(constructor, js_class = "PerformanceObserver", catch)]
    pub fn new(callback: &Function) -> Result<PerfObserver, JsValue>;

    /// `observe({type, buffered: true, ...})`; throws for types the browser does not know.
    #[wasm_bindgen(method, catch)]
    pub fn observe(this: &PerfObserver, options: &Object) -> Result<(), JsValue>;

    #[wasm_bindgen(method)]
    pub fn disconnect(this: &PerfObserver);

    /// `PerformanceObserver.supportedEntryTypes`; absent in old browsers.
    #[wasm_bindgen(static_method_of = PerfObserver, js_class = "PerformanceObserver", getter = supportedEntryTypes)]
    pub fn supported_entry_types() -> Option<Array>;

    /// The entry list a `PerformanceObserver` callback receives.
    pub type PerfEntryList;

    #[wasm_bindgen(method, js_name = getEntries)]
    pub fn get_entries(this: &PerfEntryList) -> Array;

    /// Any `PerformanceEntry` (paint, largest-contentful-paint, visibility-state, ...).
    #[wasm_bindgen(extends = Object)]
    pub type PerfEntry;

    #[wasm_bindgen(method, getter, structural)]
    pub fn name(this: &PerfEntry) -> String;

    #[wasm_bindgen(method, getter, structural, js_name = startTime)]
    pub fn start_time(this: &PerfEntry) -> f64;

    /// `PerformanceNavigationTiming`, the `navigation` entry.
    #[wasm_bindgen(extends = PerfEntry)]
    pub type NavigationEntry;

    #[wasm_bindgen(method, getter, structural, js_name = type)]
    pub fn nav_type(this: &NavigationEntry) -> String;
    /// Absent before Chrome 108 and in other engines: treat as 0, as web-vitals does.
    #[wasm_bindgen(method, getter, structural, js_name = activationStart)]
    pub fn activation_start(this: &NavigationEntry) -> Option<f64>;
    #[wasm_bindgen(method, getter, structural, js_name = redirectStart)]
    pub fn redirect_start(this: &NavigationEntry) -> f64;
    #[wasm_bindgen(method, getter, structural, js_name = redirectEnd)]
    pub fn redirect_end(this: &NavigationEntry) -> f64;
    #[wasm_bindgen(method, getter, structural, js_name = domainLookupStart)]
    pub fn domain_lookup_start(this: &NavigationEntry) -> f64;
    #[wasm_bindgen(method, getter, structural, js_name = domainLookupEnd)]
    pub fn domain_lookup_end(this: &NavigationEntry) -> f64;
    #[wasm_bindgen(method, getter, structural, js_name = connectStart)]
    pub fn connect_start(this: &NavigationEntry) -> f64;
    #[wasm_bindgen(method, getter, structural, js_name = connectEnd)]
    pub fn connect_end(this: &NavigationEntry) -> f64;
    #[wasm_bindgen(method, getter, structural, js_name = secureConnectionStart)]
    pub fn secure_connection_start(this: &NavigationEntry) -> f64;
    #[wasm_bindgen(method, getter, structural, js_name = responseStart)]
    pub fn response_start(this: &NavigationEntry) -> f64;
    #[wasm_bindgen(method, getter, structural, js_name = responseEnd)]
    pub fn response_end(this: &NavigationEntry) -> f64;
    #[wasm_bindgen(method, getter, structural, js_name = domInteractive)]
    pub fn dom_interactive(this: &NavigationEntry) -> f64;
    #[wasm_bindgen(method, getter, structural, js_name = domContentLoadedEventEnd)]
    pub fn dom_content_loaded_event_end(this: &NavigationEntry) -> f64;
    #[wasm_bindgen(method, getter, structural, js_name = domComplete)]
    pub fn dom_complete(this: &NavigationEntry) -> f64;
    #[wasm_bindgen(method, getter, structural, js_name = loadEventEnd)]
    pub fn load_event_end(this: &NavigationEntry) -> f64;
    #[wasm_bindgen(method, getter, structural, js_name = transferSize)]
    pub fn transfer_size(this: &NavigationEntry) -> Option<f64>;
    #[wasm_bindgen(method, getter, structural, js_name = encodedBodySize)]
    pub fn encoded_body_size(this: &NavigationEntry) -> Option<f64>;
    #[wasm_bindgen(method, getter, structural, js_name = decodedBodySize)]
    pub fn decoded_body_size(this: &NavigationEntry) -> Option<f64>;
    #[wasm_bindgen(method, getter, structural, js_name = nextHopProtocol)]
    pub fn next_hop_protocol(this: &NavigationEntry) -> Option<String>;

    /// The members of `Document` web-sys lacks; cast a `web_sys::Document` to it.
    #[wasm_bindgen(extends = Object)]
    pub type DocumentExt;

    /// `document.prerendering` (Chrome 108+); absent elsewhere.
    #[wasm_bindgen(method, getter, structural)]
    pub fn prerendering(this: &DocumentExt) -> Option<bool>;
    /// `document.wasDiscarded` (Chrome); absent elsewhere.
    #[wasm_bindgen(method, getter, structural, js_name = wasDiscarded)]
    pub fn was_discarded(this: &DocumentExt) -> Option<bool>;

    /// `performance.getEntriesByType()`.
    #[wasm_bindgen(js_namespace = performance, js_name = getEntriesByType)]
    pub fn entries_by_type(entry_type: &str) -> Array;

    #[wasm_bindgen(js_name = queueMicrotask)]
    pub fn queue_microtask(callback: &Function);

    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(callback: &Function, ms: i32) -> JsValue;

    /// `requestIdleCallback(cb, {timeout})`; call only where it exists (not in Safari).
    #[wasm_bindgen(js_name = requestIdleCallback)]
    pub fn request_idle_callback(callback: &Function, options: &Object) -> JsValue;

    #[wasm_bindgen(js_name = cancelIdleCallback)]
    pub fn cancel_idle_callback(handle: &JsValue);

    /// `fetch(url, init)`, the fallback when `sendBeacon` refuses a payload.
    #[wasm_bindgen(js_name = fetch)]
    pub fn fetch_with_init(url: &str, init: &Object) -> js_sys::Promise;

    /// JavaScript's own `String(number)`: the shortest round-trip form, without the ~9 KB that
    /// Rust's float formatting adds to the module.
    #[wasm_bindgen(js_name = String)]
    pub fn number_to_string(value: f64) -> String;
}

/// The global `performance` object.
pub fn performance() -> Option<web_sys::Performance> {
    web_sys::window()?.performance()
}

/// Whether the browser supports `requestIdleCallback`.
pub fn has_idle_callback() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("requestIdleCallback"))
        .unwrap_or(false)
}
