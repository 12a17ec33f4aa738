//! Getting a batch to the collector, also while the page unloads.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::bindings;

/// Sends `body` to `url` without a CORS preflight: `text/plain` (a "simple" request), the key in
/// the query string, no credentials. `navigator.sendBeacon` first, since the browser delivers it
/// even after the page is gone; when it refuses (payload over its quota, or no beacon API) a
/// `fetch` with `keepalive`, which also survives the unload.
pub fn send(url: &str, body: &str) {
    let beaconed = web_sys::window()
        .and_then(|w| w.navigator().send_beacon_with_opt_str(url, Some(body)).ok())
        .unwrap_or(false);
    if !beaconed {
        fetch_keepalive(url, body);
    }
}

fn fetch_keepalive(url: &str, body: &str) {
    let init = Object::new();
    let headers = Object::new();
    let set = |target: &Object, key: &str, value: JsValue| {
        let _ = Reflect::set(target, &JsValue::from_str(key), &value);
    };
    set(&headers, "Content-Type", "text/plain;charset=UTF-8".into());
    set(&init, "method", "POST".into());
    set(&init, "body", body.into());
    set(&init, "keepalive", true.into());
    set(&init, "credentials", "omit".into());
    set(&init, "mode", "cors".into());
    set(&init, "headers", headers.into());
    // Nobody waits for the answer on this path; swallow a network error rather than leave an
    // unhandled rejection in the page's console.
    let ignore = Closure::<dyn FnMut(JsValue)>::new(|_| {});
    let _ = bindings::fetch_with_init(url, &init).catch(&ignore);
    ignore.forget();
}
