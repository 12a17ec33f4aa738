//! `init(options)`: reading the options object the page passes in.

use crate::prelude::*;

use js_sys::{Function, Reflect};

use crate::scrub::Rules;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// What the page configured. The TypeScript layer warns about unknown keys; here a missing or
/// mistyped required option is an error thrown from `init()`.
pub struct Options {
    /// The collector's base URL, e.g. `http://127.0.0.1:8001` (no trailing slash needed).
    pub endpoint: String,
    pub app: String,
    /// The app's public write key, sent as `?key=`.
    pub key: Option<String>,
    pub release: Option<String>,
    pub user_id: Option<String>,
    pub route: Option<String>,
    /// Share of sessions that report to the collector, 0..=1 (`onMetric` sees every metric).
    pub sample_rate: f64,
    /// Called with every web vital, in web-vitals' shape.
    pub on_metric: Option<Function>,
    /// Resource timing events per page view (default 150); the rest are counted, not sent.
    pub max_resources: u32,
    /// Share of resources reported, 0..=1 (default 1).
    pub resource_sample_rate: f64,
    /// Long tasks, and long animation frames, per page view (default 100 each).
    pub max_long_tasks: u32,
    /// Queued events that start a send (default 50, at most protocol v1's 200 a batch).
    pub flush_at: u32,
    /// A send goes at most this long after the first event queued since the last (ms,
    /// default 5000; 0: only at `flushAt`, when hidden and on `report()`).
    pub flush_interval: u32,
    /// Gzip ordinary sends with the browser's `CompressionStream` when that makes them
    /// smaller (default off: the `Content-Encoding` header costs a CORS preflight).
    pub compress: bool,
    /// Sees every event before it is queued, as a plain object; returns it (edited or not),
    /// or `null`/`false` to drop it.
    pub before_send: Option<Function>,
    /// How URLs and names are scrubbed (`allowedQueryParams`, `allowedResourceOrigins`,
    /// `redact`).
    pub scrub: Rules,
}

/// "perfwatch: option `key` ..." without Rust's formatting machinery (kilobytes of wasm).
fn error(key: &str, rest: &str) -> JsError {
    let mut message = String::from("perfwatch: option `");
    message.push_str(key);
    message.push_str(rest);
    JsError::new(&message)
}

fn get(options: &JsValue, key: &str) -> JsValue {
    Reflect::get(options, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn opt_string(options: &JsValue, key: &str) -> Result<Option<String>, JsError> {
    let value = get(options, key);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .as_string()
        .map(Some)
        .ok_or_else(|| error(key, "` must be a string"))
}

/// A number option in `range`, or `default` when absent.
fn number(options: &JsValue, key: &str, range: (f64, f64), default: f64) -> Result<f64, JsError> {
    let value = get(options, key);
    if value.is_undefined() {
        return Ok(default);
    }
    match value.as_f64() {
        Some(n) if n >= range.0 && n <= range.1 => Ok(n),
        _ => {
            let mut message = String::from("perfwatch: option `");
            message.push_str(key);
            message.push_str("` must be a number from ");
            crate::wire::number(&mut message, range.0);
            message.push_str(" to ");
            crate::wire::number(&mut message, range.1);
            Err(JsError::new(&message))
        }
    }
}

fn opt_function(options: &JsValue, key: &str) -> Result<Option<Function>, JsError> {
    let value = get(options, key);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .dyn_into::<Function>()
        .map(Some)
        .map_err(|_| error(key, "` must be a function"))
}

fn boolean(options: &JsValue, key: &str, default: bool) -> Result<bool, JsError> {
    let value = get(options, key);
    if value.is_undefined() {
        return Ok(default);
    }
    value
        .as_bool()
        .ok_or_else(|| error(key, "` must be true or false"))
}

/// An array of strings, or empty when absent.
fn strings(options: &JsValue, key: &str) -> Result<Vec<String>, JsError> {
    let value = get(options, key);
    if value.is_undefined() || value.is_null() {
        return Ok(Vec::new());
    }
    let list = value
        .dyn_into::<js_sys::Array>()
        .map_err(|_| error(key, "` must be an array of strings"))?;
    list.iter()
        .map(|item| {
            item.as_string()
                .ok_or_else(|| error(key, "` must be an array of strings"))
        })
        .collect()
}

fn required_string(options: &JsValue, key: &str) -> Result<String, JsError> {
    match opt_string(options, key)? {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(error(key, "` is required (a non-empty string)")),
    }
}

impl Options {
    pub fn from_js(options: &JsValue) -> Result<Options, JsError> {
        if !options.is_object() {
            return Err(JsError::new(
                "perfwatch: init() takes an options object: { endpoint, app, key? }",
            ));
        }
        let sample_rate = number(options, "sampleRate", (0.0, 1.0), 1.0)?;
        Ok(Options {
            on_metric: opt_function(options, "onMetric")?,
            before_send: opt_function(options, "beforeSend")?,
            flush_at: number(options, "flushAt", (1.0, 200.0), 50.0)? as u32,
            flush_interval: number(options, "flushInterval", (0.0, 600_000.0), 5000.0)? as u32,
            compress: boolean(options, "compress", false)?,
            scrub: Rules {
                allowed_params: strings(options, "allowedQueryParams")?,
                allowed_origins: strings(options, "allowedResourceOrigins")?,
                redact: boolean(options, "redact", true)?,
                ..Rules::default()
            },
            endpoint: required_string(options, "endpoint")?
                .trim_end_matches('/')
                .to_string(),
            app: required_string(options, "app")?,
            key: opt_string(options, "key")?,
            release: opt_string(options, "release")?,
            user_id: opt_string(options, "userId")?,
            route: opt_string(options, "route")?,
            sample_rate,
            max_resources: number(options, "maxResources", (0.0, 10_000.0), 150.0)? as u32,
            resource_sample_rate: number(options, "resourceSampleRate", (0.0, 1.0), 1.0)?,
            max_long_tasks: number(options, "maxLongTasks", (0.0, 10_000.0), 100.0)? as u32,
        })
    }
}
