//! Subscribing to performance entries, as web-vitals' `lib/observe.ts` does.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::bindings::{self, PerfEntryList, PerfObserver};

/// Observes `entry_type` with `buffered: true`, so entries from before the SDK loaded arrive
/// too. `callback` gets each list of entries in a microtask of its own (Safari invokes observer
/// callbacks synchronously; web-vitals issue 277). `None` when the browser lacks the type.
pub fn observe(entry_type: &str, callback: impl FnMut(Array) + 'static) -> Option<PerfObserver> {
    let supported = PerfObserver::supported_entry_types()?;
    if !supported.includes(&JsValue::from_str(entry_type), 0) {
        return None;
    }
    let callback = Rc::new(RefCell::new(callback));
    let on_entries = Closure::<dyn FnMut(PerfEntryList)>::new(move |list: PerfEntryList| {
        let entries = list.get_entries();
        let callback = callback.clone();
        let deliver = Closure::once_into_js(move || (callback.borrow_mut())(entries));
        bindings::queue_microtask(deliver.unchecked_ref());
    });
    let observer = PerfObserver::new(on_entries.as_ref().unchecked_ref()).ok()?;
    // The observer calls back for the life of the page.
    on_entries.forget();
    let options = Object::new();
    let _ = Reflect::set(&options, &"type".into(), &entry_type.into());
    let _ = Reflect::set(&options, &"buffered".into(), &true.into());
    observer.observe(&options).ok()?;
    Some(observer)
}
