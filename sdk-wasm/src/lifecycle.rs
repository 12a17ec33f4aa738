//! Page lifecycle mechanics shared by the metrics, after web-vitals' `lib/`:
//! `getNavigationEntry`, `getActivationStart`, `whenActivated`, `getVisibilityWatcher`,
//! `whenIdleOrHidden`, plus small helpers for event listeners from Rust closures.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::bindings::{self, DocumentExt, NavigationEntry, PerfEntry};

/// The `navigation` entry, only when its `responseStart` is plausible: some browsers report 0
/// (privacy) or values past `performance.now()` (bugs) — web-vitals issues 137, 162, 275.
pub fn navigation_entry() -> Option<NavigationEntry> {
    let entry = bindings::entries_by_type("navigation").get(0);
    if entry.is_undefined() {
        return None;
    }
    let entry: NavigationEntry = entry.unchecked_into();
    let now = bindings::performance()?.now();
    let response_start = entry.response_start();
    (response_start > 0.0 && response_start < now).then_some(entry)
}

/// When a prerendered page was activated, in ms after `time_origin`; 0 for ordinary loads.
/// Metrics are measured from here, so that a prerender's head start does not count.
pub fn activation_start() -> f64 {
    navigation_entry()
        .and_then(|e| e.activation_start())
        .unwrap_or(0.0)
}

fn document() -> Option<web_sys::Document> {
    web_sys::window()?.document()
}

/// `document.prerendering`.
pub fn is_prerendering() -> bool {
    document()
        .and_then(|d| d.unchecked_ref::<DocumentExt>().prerendering())
        .unwrap_or(false)
}

/// `document.visibilityState === 'hidden'`.
pub fn is_hidden() -> bool {
    document().is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden)
}

/// web-vitals' navigation type of the current page load (`initMetric`).
pub fn navigation_type() -> &'static str {
    let Some(entry) = navigation_entry() else {
        return "navigate";
    };
    if is_prerendering() || activation_start() > 0.0 {
        "prerender"
    } else if document()
        .and_then(|d| d.unchecked_ref::<DocumentExt>().was_discarded())
        .unwrap_or(false)
    {
        "restore"
    } else {
        match entry.nav_type().as_str() {
            "reload" => "reload",
            "back_forward" => "back-forward",
            "prerender" => "prerender",
            _ => "navigate",
        }
    }
}

/// Adds a listener on `window` that lives as long as the page and returns its function, so
/// that it can be removed again with the same `capture`.
pub fn listen(
    event: &str,
    capture: bool,
    handler: impl FnMut(web_sys::Event) + 'static,
) -> Function {
    let f: Function = Closure::<dyn FnMut(web_sys::Event)>::new(handler)
        .into_js_value()
        .unchecked_into();
    if let Some(w) = web_sys::window() {
        let _ = w.add_event_listener_with_callback_and_bool(event, &f, capture);
    }
    f
}

/// Removes a listener added with [`listen`].
pub fn unlisten(event: &str, capture: bool, f: &Function) {
    if let Some(w) = web_sys::window() {
        let _ = w.remove_event_listener_with_callback_and_bool(event, f, capture);
    }
}

/// Runs `handler` the first time `event` reaches `target`, then forgets it.
pub fn once(
    target: &web_sys::EventTarget,
    event: &str,
    capture: bool,
    handler: impl FnOnce(web_sys::Event) + 'static,
) -> Function {
    let f: Function = Closure::once_into_js(handler).unchecked_into();
    let options = web_sys::AddEventListenerOptions::new();
    options.set_once(true);
    options.set_capture(capture);
    let _ =
        target.add_event_listener_with_callback_and_add_event_listener_options(event, &f, &options);
    f
}

/// Runs `callback` now, or when a prerendered page is activated.
pub fn when_activated(callback: impl FnOnce() + 'static) {
    match web_sys::window() {
        Some(w) if is_prerendering() => {
            once(&w, "prerenderingchange", true, move |_| callback());
        }
        _ => callback(),
    }
}

/// Runs `callback` in a task of its own after the load event (web-vitals' `whenReady` for TTFB),
/// waiting for activation first on prerendered pages.
pub fn when_loaded(callback: impl FnOnce() + 'static) {
    let Some(w) = web_sys::window() else { return };
    if is_prerendering() {
        when_activated(move || when_loaded(callback));
    } else if document().is_some_and(|d| d.ready_state() != "complete") {
        once(&w, "load", true, move |_| when_loaded(callback));
    } else {
        // A task, so that the callback runs after `loadEventEnd` is set.
        bindings::set_timeout(&Closure::once_into_js(callback).unchecked_into(), 0);
    }
}

/// Runs `callback` when the main thread is idle (at most a second later), or at once when the
/// page is or becomes hidden — keeps finalisation work off the input path (web-vitals issue 383).
pub fn when_idle_or_hidden(callback: impl FnOnce() + 'static) {
    if is_hidden() {
        callback();
        return;
    }
    let Some(w) = web_sys::window() else { return };
    let pending = Rc::new(Cell::new(Some(Box::new(callback) as Box<dyn FnOnce()>)));
    let idle_handle = Rc::new(Cell::new(JsValue::UNDEFINED));
    let on_hidden = {
        let pending = pending.clone();
        let idle_handle = idle_handle.clone();
        once(&w, "visibilitychange", true, move |_| {
            let handle = idle_handle.replace(JsValue::UNDEFINED);
            if bindings::has_idle_callback() {
                bindings::cancel_idle_callback(&handle);
            }
            if let Some(cb) = pending.take() {
                cb();
            }
        })
    };
    let on_idle: Function = Closure::once_into_js(move || {
        unlisten("visibilitychange", true, &on_hidden);
        if let Some(cb) = pending.take() {
            cb();
        }
    })
    .unchecked_into();
    let handle = if bindings::has_idle_callback() {
        let options = Object::new();
        let _ = Reflect::set(&options, &"timeout".into(), &1000.into());
        bindings::request_idle_callback(&on_idle, &options)
    } else {
        bindings::set_timeout(&on_idle, 0)
    };
    idle_handle.set(handle);
}

thread_local! {
    /// When the page was first hidden, in ms after `time_origin`; -1 until the watcher starts,
    /// infinity while it has never been hidden.
    static FIRST_HIDDEN_TIME: Cell<f64> = const { Cell::new(-1.0) };
}

/// web-vitals' `getVisibilityWatcher().firstHiddenTime`: metrics ignore paints after it.
pub fn first_hidden_time() -> f64 {
    FIRST_HIDDEN_TIME.with(|t| {
        if t.get() < 0.0 {
            t.set(initial_hidden_time());
            watch_visibility();
        }
        t.get()
    })
}

fn initial_hidden_time() -> f64 {
    // Prefer a `visibility-state` entry (Chrome 115+), which knows about hides before the SDK
    // loaded; otherwise assume a page that is hidden now was hidden from the start — except
    // while prerendering, when the state is always 'hidden' (see `prerenderingchange` below).
    if !is_prerendering() {
        let activation = activation_start();
        let entries = bindings::entries_by_type("visibility-state");
        for entry in entries.iter() {
            let entry: PerfEntry = entry.unchecked_into();
            if entry.name() == "hidden" && entry.start_time() >= activation {
                return entry.start_time();
            }
        }
    }
    if is_hidden() && !is_prerendering() {
        0.0
    } else {
        f64::INFINITY
    }
}

fn watch_visibility() {
    let update = |event: web_sys::Event| {
        if !is_hidden() {
            return;
        }
        FIRST_HIDDEN_TIME.with(|t| {
            if !t.get().is_finite() {
                // A visibilitychange means the page was visible until now; a page still hidden
                // at `prerenderingchange` was activated in the background: hidden throughout.
                t.set(if event.type_() == "visibilitychange" {
                    event.time_stamp()
                } else {
                    0.0
                });
            }
        });
    };
    listen("visibilitychange", true, update);
    listen("prerenderingchange", true, update);
}
