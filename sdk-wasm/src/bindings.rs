//! Browser APIs that web-sys does not bind (or binds without the members we need), declared in
//! one place. See ../shared/TOOLCHAIN.md, "web-sys gaps".
//!
//! Every imported function costs a shim in the JS glue and a named import in the module (about
//! 40 bytes gzip each), so performance entries are read through one property reader
//! ([`Entry`]) rather than a typed getter per field: the SDK reads some forty fields.

use crate::prelude::*;

use core::cell::RefCell;

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `PerformanceObserver`, with the `{type, buffered, durationThreshold}` form of `observe()`.
    #[wasm_bindgen(js_name = PerformanceObserver)]
    pub type PerfObserver;

    #[wasm_bindgen(constructor, js_class = "PerformanceObserver", catch)]
    pub fn new(callback: &Function) -> Result<PerfObserver, JsValue>;

    /// Throws for types the browser does not know.
    #[wasm_bindgen(method, catch)]
    pub fn observe(this: &PerfObserver, options: &Object) -> Result<(), JsValue>;

    #[wasm_bindgen(method)]
    pub fn disconnect(this: &PerfObserver);

    /// Entries queued for the callback but not delivered yet.
    #[wasm_bindgen(method, js_name = takeRecords)]
    pub fn take_records(this: &PerfObserver) -> Array;

    /// `PerformanceObserver.supportedEntryTypes`; absent in old browsers.
    #[wasm_bindgen(static_method_of = PerfObserver, js_class = "PerformanceObserver", getter = supportedEntryTypes)]
    pub fn supported_entry_types() -> Option<Array>;

    /// The entry list a `PerformanceObserver` callback receives.
    pub type PerfEntryList;

    #[wasm_bindgen(method, js_name = getEntries)]
    pub fn get_entries(this: &PerfEntryList) -> Array;

    /// `performance.getEntriesByType()`.
    #[wasm_bindgen(js_namespace = performance, js_name = getEntriesByType)]
    pub fn entries_by_type(entry_type: &str) -> Array;

    /// `performance.now()`.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    pub fn now() -> f64;

    #[wasm_bindgen(js_name = queueMicrotask)]
    pub fn queue_microtask(callback: &Function);

    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(callback: &Function, ms: i32) -> JsValue;

    #[wasm_bindgen(js_name = requestAnimationFrame)]
    pub fn request_animation_frame(callback: &Function) -> JsValue;

    /// `requestIdleCallback(cb, {timeout})`; call only where it exists (not in Safari).
    #[wasm_bindgen(js_name = requestIdleCallback)]
    pub fn request_idle_callback(callback: &Function, options: &Object) -> JsValue;

    #[wasm_bindgen(js_name = cancelIdleCallback)]
    pub fn cancel_idle_callback(handle: &JsValue);

    #[wasm_bindgen(js_name = clearTimeout)]
    pub fn clear_timeout(handle: &JsValue);

    /// The npm layer's I/O for delivery (`npm/src/host.ts`), each call wrapped there so that
    /// it never throws: requests, beacons, storage and the console.
    #[derive(Clone)]
    pub type Host;

    /// POSTs `body` to `url` as `text/plain` without credentials (gzip-encoded when `gzip`
    /// and that makes it smaller), with `keepalive` when asked (falling back to a plain fetch
    /// when the browser refuses it); the answer comes back through [`crate::answered`] with
    /// `id`.
    #[wasm_bindgen(method)]
    pub fn post(this: &Host, url: &str, body: &str, keepalive: bool, gzip: bool, id: u32);

    /// `navigator.sendBeacon(url, body)`: whether the browser took it.
    #[wasm_bindgen(method)]
    pub fn beacon(this: &Host, url: &str, body: &str) -> bool;

    /// The value under `key` in `sessionStorage` (`session`) or `localStorage`; `None` when
    /// absent or when storage is not available.
    #[wasm_bindgen(method)]
    pub fn load(this: &Host, key: &str, session: bool) -> Option<String>;

    /// Stores `value` under `key` (removes it when empty); storage errors are ignored.
    #[wasm_bindgen(method)]
    pub fn save(this: &Host, key: &str, value: &str, session: bool);

    /// `console.warn(message)`.
    #[wasm_bindgen(method)]
    pub fn warn(this: &Host, message: &str);

    /// JavaScript's own `String(number)`: the shortest round-trip form, without the ~9 KB that
    /// Rust's float formatting adds to the module.
    #[wasm_bindgen(js_name = String)]
    pub fn number_to_string(value: f64) -> String;
}

/// The global `performance` object.
pub fn performance() -> Option<web_sys::Performance> {
    web_sys::window()?.performance()
}

/// Whether the global object has `name` (`requestIdleCallback`, `PerformanceEventTiming`, ...).
#[inline(never)]
pub fn has_global(name: &str) -> bool {
    Reflect::has(&js_sys::global(), &JsValue::from_str(name)).unwrap_or(false)
}

/// A browser object read by property name: performance entries, nodes, events. Missing
/// properties read as `undefined`, numbers as 0 (what `PerformanceEntry` fields are when the
/// browser did not measure them).
#[derive(Clone, Debug)]
pub struct Entry(pub JsValue);

/// Property names as JS strings, made once each: decoding a name from the module's memory on
/// every read was the SDK's largest main-thread cost (BENCHMARKS.md). Keyed by the address of
/// the `&'static str` literal; the SDK reads about sixty names.
struct Keys(RefCell<Vec<(usize, JsValue)>>);

// SAFETY: the SDK runs on the browser's main thread only; WebAssembly there has no other
// threads that could reach this state.
unsafe impl Sync for Keys {}

static KEYS: Keys = Keys(RefCell::new(Vec::new()));

/// `name` as a JS string, cached.
#[inline(never)]
fn key(name: &'static str) -> JsValue {
    let address = name.as_ptr() as usize;
    let mut keys = KEYS.0.borrow_mut();
    if let Some((_, key)) = keys.iter().find(|(a, _)| *a == address) {
        return key.clone();
    }
    let key = JsValue::from_str(name);
    keys.push((address, key.clone()));
    key
}

impl Entry {
    #[inline(never)]
    pub fn get(&self, name: &'static str) -> JsValue {
        Reflect::get(&self.0, &key(name)).unwrap_or(JsValue::UNDEFINED)
    }

    /// A numeric property, or `None` when the browser does not have it.
    #[inline(never)]
    pub fn opt_num(&self, key: &'static str) -> Option<f64> {
        self.get(key).as_f64()
    }

    /// A numeric property; 0 when absent.
    #[inline(never)]
    pub fn num(&self, key: &'static str) -> f64 {
        self.opt_num(key).unwrap_or(0.0)
    }

    /// A string property; `None` when absent or empty.
    #[inline(never)]
    pub fn string(&self, key: &'static str) -> Option<String> {
        self.get(key).as_string().filter(|s| !s.is_empty())
    }

    /// An object property, or `None` when null or absent.
    #[inline(never)]
    pub fn child(&self, key: &'static str) -> Option<Entry> {
        let value = self.get(key);
        (!value.is_undefined() && !value.is_null()).then_some(Entry(value))
    }

    /// The elements of an array property (`sources`, `scripts`, `attribution`).
    #[inline(never)]
    pub fn list(&self, key: &'static str) -> Vec<Entry> {
        let value = self.get(key);
        if Array::is_array(&value) {
            Array::from(&value).iter().map(Entry).collect()
        } else {
            Vec::new()
        }
    }

    #[inline(never)]
    pub fn name(&self) -> String {
        self.string("name").unwrap_or_default()
    }

    #[inline(never)]
    pub fn start_time(&self) -> f64 {
        self.num("startTime")
    }

    #[inline(never)]
    pub fn duration(&self) -> f64 {
        self.num("duration")
    }
}

/// Sets `key` on a plain object.
#[inline(never)]
pub fn set(target: &Object, name: &'static str, value: JsValue) {
    let _ = Reflect::set(target, &key(name), &value);
}
