//! `init(options)`: reading the options object the page passes in.

use js_sys::{Function, Reflect};
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
        .ok_or_else(|| JsError::new(&format!("perfwatch: option `{key}` must be a string")))
}

fn required_string(options: &JsValue, key: &str) -> Result<String, JsError> {
    match opt_string(options, key)? {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(JsError::new(&format!(
            "perfwatch: option `{key}` is required (a non-empty string)"
        ))),
    }
}

impl Options {
    pub fn from_js(options: &JsValue) -> Result<Options, JsError> {
        if !options.is_object() {
            return Err(JsError::new(
                "perfwatch: init() takes an options object: { endpoint, app, key? }",
            ));
        }
        let sample_rate = get(options, "sampleRate");
        let sample_rate = if sample_rate.is_undefined() {
            1.0
        } else {
            match sample_rate.as_f64() {
                Some(rate) if (0.0..=1.0).contains(&rate) => rate,
                _ => {
                    return Err(JsError::new(
                        "perfwatch: option `sampleRate` must be a number from 0 to 1",
                    ))
                }
            }
        };
        let on_metric = get(options, "onMetric");
        let on_metric = if on_metric.is_undefined() || on_metric.is_null() {
            None
        } else {
            Some(
                on_metric
                    .dyn_into::<Function>()
                    .map_err(|_| JsError::new("perfwatch: option `onMetric` must be a function"))?,
            )
        };
        Ok(Options {
            endpoint: required_string(options, "endpoint")?
                .trim_end_matches('/')
                .to_string(),
            app: required_string(options, "app")?,
            key: opt_string(options, "key")?,
            release: opt_string(options, "release")?,
            user_id: opt_string(options, "userId")?,
            route: opt_string(options, "route")?,
            sample_rate,
            on_metric,
        })
    }
}
