//! Page lifecycle mechanics shared by the metrics, after web-vitals' `lib/`:
//! `getNavigationEntry`, `getActivationStart`, `whenActivated`, `getVisibilityWatcher`,
//! `onBFCacheRestore`, `whenIdleOrHidden`, `doubleRAF`, and callbacks from Rust closures.
//!
//! Every callback the SDK hands to the browser is a `Closure<dyn FnMut(JsValue)>`: one closure
//! type keeps the module small (each distinct type costs its own shims).

use crate::prelude::*;

use alloc::rc::Rc;
use core::cell::{Cell, RefCell};

use js_sys::{Function, Object};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::bindings::{self, set, Entry};

/// A JS function that runs `handler` with its argument every time it is called, for as long
/// as the browser holds it.
pub fn function(handler: impl FnMut(JsValue) + 'static) -> Function {
    boxed_function(Box::new(handler))
}

/// Not generic: one set of wasm-bindgen shims for every callback.
fn boxed_function(handler: Box<dyn FnMut(JsValue)>) -> Function {
    Closure::wrap(handler).into_js_value().unchecked_into()
}

/// A JS function that runs `callback` the first time it is called and does nothing after.
pub fn function_once(callback: impl FnOnce() + 'static) -> Function {
    boxed_function_once(Box::new(callback))
}

fn boxed_function_once(callback: Box<dyn FnOnce()>) -> Function {
    let mut callback = Some(callback);
    boxed_function(Box::new(move |_| {
        if let Some(callback) = callback.take() {
            callback();
        }
    }))
}

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

fn document() -> Option<Entry> {
    Some(Entry(window()?.document()?.into()))
}

/// Adds a listener on `window`, capturing, for the life of the page; returns its function so
/// that it can be removed with [`unlisten`].
pub fn listen(event: &str, handler: impl FnMut(JsValue) + 'static) -> Function {
    let f = function(handler);
    if let Some(w) = window() {
        let _ = w.add_event_listener_with_callback_and_bool(event, &f, true);
    }
    f
}

/// Removes a listener added with [`listen`].
pub fn unlisten(event: &str, f: &Function) {
    if let Some(w) = window() {
        let _ = w.remove_event_listener_with_callback_and_bool(event, f, true);
    }
}

/// Runs `callback` the first time `event` reaches `window` (capturing).
pub fn once(event: &str, callback: impl FnOnce() + 'static) -> Function {
    once_boxed(event, Box::new(callback))
}

// The generic functions here box their callback and call a function that is not generic: one
// copy of each in the module instead of one per caller.
#[inline(never)]
fn once_boxed(event: &str, callback: Task) -> Function {
    let f = boxed_function_once(callback);
    let options = Object::new();
    set(&options, "once", true.into());
    set(&options, "capture", true.into());
    if let Some(w) = window() {
        let _ = w.add_event_listener_with_callback_and_add_event_listener_options(
            event,
            &f,
            options.unchecked_ref(),
        );
    }
    f
}

/// The `navigation` entry, only when its `responseStart` is plausible: some browsers report 0
/// (privacy) or values past `performance.now()` (bugs) — web-vitals issues 137, 162, 275.
pub fn navigation_entry() -> Option<Entry> {
    let entry = bindings::entries_by_type("navigation").get(0);
    if entry.is_undefined() {
        return None;
    }
    let entry = Entry(entry);
    let response_start = entry.num("responseStart");
    (response_start > 0.0 && response_start < bindings::now()).then_some(entry)
}

/// When a prerendered page was activated, in ms after `time_origin`; 0 for ordinary loads.
/// Metrics are measured from here, so that a prerender's head start does not count.
pub fn activation_start() -> f64 {
    navigation_entry().map_or(0.0, |e| e.num("activationStart"))
}

/// `document.prerendering` (Chrome 108+; false elsewhere).
pub fn is_prerendering() -> bool {
    document().is_some_and(|d| d.get("prerendering").is_truthy())
}

/// `document.visibilityState === 'hidden'`.
pub fn is_hidden() -> bool {
    document()
        .and_then(|d| d.string("visibilityState"))
        .as_deref()
        == Some("hidden")
}

/// `document.readyState`.
pub fn ready_state() -> String {
    document()
        .and_then(|d| d.string("readyState"))
        .unwrap_or_default()
}

/// web-vitals' navigation type of the current page load (`initMetric`) when no other is given.
pub fn navigation_type() -> &'static str {
    if bfcache_restore_time() >= 0.0 {
        return "back-forward-cache";
    }
    let Some(entry) = navigation_entry() else {
        return "navigate";
    };
    if is_prerendering() || entry.num("activationStart") > 0.0 {
        "prerender"
    } else if document().is_some_and(|d| d.get("wasDiscarded").is_truthy()) {
        "restore"
    } else {
        match entry.string("type").as_deref() {
            Some("reload") => "reload",
            Some("back_forward") => "back-forward",
            Some("prerender") => "prerender",
            _ => "navigate",
        }
    }
}

/// Runs `callback` now, or when a prerendered page is activated.
pub fn when_activated(callback: impl FnOnce() + 'static) {
    when_activated_boxed(Box::new(callback));
}

#[inline(never)]
fn when_activated_boxed(callback: Task) {
    if is_prerendering() {
        once("prerenderingchange", callback);
    } else {
        callback();
    }
}

/// Runs `callback` in a task of its own after the load event (web-vitals' `whenReady` for TTFB),
/// waiting for activation first on prerendered pages.
pub fn when_loaded(callback: impl FnOnce() + 'static) {
    when_loaded_boxed(Box::new(callback));
}

#[inline(never)]
fn when_loaded_boxed(callback: Task) {
    if is_prerendering() {
        when_activated_boxed(Box::new(move || when_loaded_boxed(callback)));
    } else if ready_state() != "complete" {
        once_boxed("load", Box::new(move || when_loaded_boxed(callback)));
    } else {
        // A task, so that the callback runs after `loadEventEnd` is set.
        bindings::set_timeout(&boxed_function_once(callback), 0);
    }
}

/// Runs `callback` when the main thread is idle (at most a second later), or at once when the
/// page is or becomes hidden — keeps work off the input path (web-vitals issue 383).
pub fn when_idle_or_hidden(callback: impl FnOnce() + 'static) {
    when_idle_or_hidden_boxed(Box::new(callback));
}

#[inline(never)]
fn when_idle_or_hidden_boxed(callback: Task) {
    if is_hidden() {
        callback();
        return;
    }
    let pending: Rc<Cell<Option<Task>>> = Rc::new(Cell::new(Some(callback)));
    let idle_handle = Rc::new(Cell::new(JsValue::UNDEFINED));
    let has_idle = bindings::has_global("requestIdleCallback");
    let on_hidden = {
        let pending = pending.clone();
        let idle_handle = idle_handle.clone();
        once_boxed(
            "visibilitychange",
            Box::new(move || {
                let handle = idle_handle.replace(JsValue::UNDEFINED);
                if has_idle {
                    bindings::cancel_idle_callback(&handle);
                } else {
                    bindings::clear_timeout(&handle);
                }
                if let Some(cb) = pending.take() {
                    cb();
                }
            }),
        )
    };
    let on_idle = function_once(move || {
        unlisten("visibilitychange", &on_hidden);
        if let Some(cb) = pending.take() {
            cb();
        }
    });
    idle_handle.set(if has_idle {
        let options = Object::new();
        set(&options, "timeout", 1000.into());
        bindings::request_idle_callback(&on_idle, &options)
    } else {
        bindings::set_timeout(&on_idle, 0)
    });
}

/// Runs `callback` after the next frame has been presented (two animation frames).
pub fn double_raf(callback: impl FnOnce() + 'static) {
    double_raf_boxed(Box::new(callback));
}

#[inline(never)]
fn double_raf_boxed(callback: Task) {
    bindings::request_animation_frame(&function_once(move || {
        bindings::request_animation_frame(&boxed_function_once(callback));
    }));
}

/// Runs `callback` in a task of its own.
pub fn in_task(callback: impl FnOnce() + 'static) {
    bindings::set_timeout(&boxed_function_once(Box::new(callback)), 0);
}

/// Work to run once, later.
type Task = Box<dyn FnOnce()>;

/// Callbacks that run each time something happens, with what happened.
type Callbacks<A> = RefCell<Vec<Box<dyn FnMut(A)>>>;

/// The page-wide state of the lifecycle: when it was first hidden, who to tell when it is
/// hidden, and when it was restored from the back/forward cache.
struct Page {
    /// When the page was first hidden, in ms after `time_origin`; -1 until the watcher starts,
    /// infinity while it has not been hidden.
    first_hidden_time: Cell<f64>,
    on_hidden: Callbacks<()>,
    /// `timeStamp` of the last bfcache restore's `pageshow`; -1 before any.
    restore_time: Cell<f64>,
    on_restore: Callbacks<f64>,
    /// Told the time from the restore to the next presented frame.
    on_restored_paint: Callbacks<f64>,
}

// SAFETY: the SDK runs on the browser's main thread only; WebAssembly there has no other
// threads that could reach this state (a `thread_local!` would cost a copy of its accessor per
// use in the shipped module).
unsafe impl Sync for Page {}

static PAGE: Page = Page {
    first_hidden_time: Cell::new(-1.0),
    on_hidden: RefCell::new(Vec::new()),
    restore_time: Cell::new(-1.0),
    on_restore: RefCell::new(Vec::new()),
    on_restored_paint: RefCell::new(Vec::new()),
};

/// Adds `callback` to `list`; whether it is the first (the caller then starts listening).
fn add_first<A>(list: &Callbacks<A>, callback: Box<dyn FnMut(A)>) -> bool {
    let mut list = list.borrow_mut();
    list.push(callback);
    list.len() == 1
}

/// Calls every callback in `list`; callbacks may register more while they run.
fn call_all<A: Copy>(list: &Callbacks<A>, arg: A) {
    let mut running = core::mem::take(&mut *list.borrow_mut());
    for callback in running.iter_mut() {
        callback(arg);
    }
    let mut list = list.borrow_mut();
    running.append(&mut list);
    *list = running;
}

/// web-vitals' `getVisibilityWatcher().firstHiddenTime`: metrics ignore paints after it.
pub fn first_hidden_time() -> f64 {
    let page = &PAGE;
    if page.first_hidden_time.get() < 0.0 {
        page.first_hidden_time.set(initial_hidden_time());
        watch_visibility();
    }
    page.first_hidden_time.get()
}

/// A soft navigation's page view starts visible: later paints count again (web-vitals'
/// `getVisibilityWatcher(true)`).
pub fn reset_first_hidden_time() {
    first_hidden_time();
    PAGE.first_hidden_time.set(f64::INFINITY);
}

/// web-vitals' `getVisibilityWatcher().onHidden`: `callback` runs every time the page is
/// hidden, before the SDK's own flush.
pub fn on_hidden(mut callback: impl FnMut() + 'static) {
    on_hidden_boxed(Box::new(move |()| callback()));
}

#[inline(never)]
fn on_hidden_boxed(callback: Box<dyn FnMut(())>) {
    first_hidden_time();
    PAGE.on_hidden.borrow_mut().push(callback);
}

fn hidden_now_time() -> f64 {
    if is_hidden() && !is_prerendering() {
        0.0
    } else {
        f64::INFINITY
    }
}

fn initial_hidden_time() -> f64 {
    // A `visibility-state` entry (Chrome 115+) knows about hides before the SDK loaded.
    if !is_prerendering() {
        let activation = activation_start();
        for entry in bindings::entries_by_type("visibility-state").iter() {
            let entry = Entry(entry);
            if entry.name() == "hidden" && entry.start_time() >= activation {
                return entry.start_time();
            }
        }
    }
    hidden_now_time()
}

fn watch_visibility() {
    let update = |event: JsValue| {
        if !is_hidden() {
            return;
        }
        let event = Entry(event);
        let is_visibility_change = event.string("type").as_deref() == Some("visibilitychange");
        if is_visibility_change {
            call_all(&PAGE.on_hidden, ());
        }
        if !PAGE.first_hidden_time.get().is_finite() {
            // A page still hidden at `prerenderingchange` was activated in the background.
            PAGE.first_hidden_time.set(if is_visibility_change {
                event.num("timeStamp")
            } else {
                0.0
            });
        }
    };
    listen("visibilitychange", update);
    listen("prerenderingchange", update);
    on_bfcache_restore(|_| {
        in_task(|| PAGE.first_hidden_time.set(hidden_now_time()));
    });
}

/// When the page was last restored from the back/forward cache (`pageshow` `timeStamp`), or
/// -1 if it never was.
pub fn bfcache_restore_time() -> f64 {
    PAGE.restore_time.get()
}

/// After a bfcache restore, `callback` gets the time from the `pageshow` to the next presented
/// frame (two animation frames later): FCP and LCP of the restored page. The clock is read once
/// for all callbacks, first thing in the frame, as close as possible to where web-vitals reads
/// it in its own callbacks.
pub fn on_bfcache_restore_painted(callback: impl FnMut(f64) + 'static) {
    on_bfcache_restore_painted_boxed(Box::new(callback));
}

#[inline(never)]
fn on_bfcache_restore_painted_boxed(callback: Box<dyn FnMut(f64)>) {
    if add_first(&PAGE.on_restored_paint, callback) {
        on_bfcache_restore(|restored_at| {
            double_raf(move || call_all(&PAGE.on_restored_paint, bindings::now() - restored_at));
        });
    }
}

/// web-vitals' `onBFCacheRestore`: `callback` gets the restoring `pageshow`'s `timeStamp`.
/// Callbacks run in the order they were added, from one listener.
pub fn on_bfcache_restore(callback: impl FnMut(f64) + 'static) {
    on_bfcache_restore_boxed(Box::new(callback));
}

#[inline(never)]
fn on_bfcache_restore_boxed(callback: Box<dyn FnMut(f64)>) {
    if add_first(&PAGE.on_restore, callback) {
        listen("pageshow", |event| {
            let event = Entry(event);
            if event.get("persisted").is_truthy() {
                let time = event.num("timeStamp");
                PAGE.restore_time.set(time);
                call_all(&PAGE.on_restore, time);
            }
        });
    }
}

/// web-vitals' `getLoadState`: how far the document had loaded at `time`.
pub fn load_state(time: f64) -> &'static str {
    if ready_state() == "loading" {
        return "loading";
    }
    if let Some(entry) = navigation_entry() {
        let dom_content_loaded = entry.num("domContentLoadedEventStart");
        let dom_complete = entry.num("domComplete");
        if time < entry.num("domInteractive") {
            return "loading";
        } else if dom_content_loaded == 0.0 || time < dom_content_loaded {
            return "dom-interactive";
        } else if dom_complete == 0.0 || time < dom_complete {
            return "dom-content-loaded";
        }
    }
    "complete"
}
