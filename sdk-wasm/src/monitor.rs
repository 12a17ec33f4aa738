//! The monitor's shared state: the page's identity, the queue of events and the flush.

use std::cell::{Cell, RefCell};

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::options::Options;
use crate::transport;
use crate::vitals::Metric;
use crate::wire::{self, Header};

/// Protocol v1 limits (`perfwatch_protocol::LIMITS`): batches are split to fit before sending.
const MAX_BATCH_EVENTS: usize = 200;
const MAX_BATCH_BYTES: usize = 64 * 1024;

/// One monitor per page: what it reports about, and what it has still to send.
pub struct Core {
    options: Options,
    header: Header,
    /// Whether this session reports to the collector (`sampleRate`).
    sampled: bool,
    /// Serialized events waiting for the next flush; never more than one full batch, since
    /// reaching that flushes at once.
    queue: RefCell<Vec<String>>,
    next_event: Cell<u32>,
    /// Events too large for any batch, counted rather than lost silently.
    oversized: Cell<u32>,
}

impl Core {
    pub fn new(options: Options) -> Core {
        let session_id = random_id();
        let header = Header {
            app: options.app.clone(),
            release: options.release.clone(),
            session_id,
            page_view_id: random_id(),
            user_id: options.user_id.clone(),
            url: page_url(),
            route: options.route.clone(),
            time_origin: crate::bindings::performance()
                .map(|p| p.time_origin())
                .unwrap_or(0.0),
        };
        Core {
            sampled: js_sys::Math::random() < options.sample_rate,
            options,
            header,
            queue: RefCell::new(Vec::new()),
            next_event: Cell::new(0),
            oversized: Cell::new(0),
        }
    }

    pub fn session_id(&self) -> &str {
        &self.header.session_id
    }

    pub fn page_view_id(&self) -> &str {
        &self.header.page_view_id
    }

    /// An id unique within the session, for events that are not metric reports.
    pub fn next_event_id(&self) -> String {
        let n = self.next_event.get() + 1;
        self.next_event.set(n);
        format!("{}-{n}", self.header.page_view_id)
    }

    /// Queues one serialized event; a full batch goes out at once.
    pub fn enqueue(&self, event: String) {
        if !self.sampled {
            return;
        }
        let full = {
            let mut queue = self.queue.borrow_mut();
            queue.push(event);
            queue.len() >= MAX_BATCH_EVENTS
        };
        if full {
            self.flush();
        }
    }

    /// Hands a metric report to `onMetric` and queues it for the collector.
    pub fn emit_metric(&self, metric: &Metric) {
        if let Some(on_metric) = &self.options.on_metric {
            let _ = on_metric.call1(&JsValue::NULL, &metric_object(metric));
        }
        self.enqueue(wire::web_vital(&metric.wire()));
    }

    /// Sends everything queued, split into batches that fit the collector's limits.
    pub fn flush(&self) {
        let events = std::mem::take(&mut *self.queue.borrow_mut());
        if events.is_empty() {
            return;
        }
        let overhead = wire::batch_overhead(&self.header);
        let (batches, oversized) = wire::split(events, overhead, MAX_BATCH_EVENTS, MAX_BATCH_BYTES);
        self.oversized.set(self.oversized.get() + oversized as u32);
        let url = self.ingest_url();
        for events in batches {
            transport::send(
                &url,
                &wire::batch(&self.header, js_sys::Date::now(), &events),
            );
        }
    }

    fn ingest_url(&self) -> String {
        let mut url = format!(
            "{}/api/v1/monitoring/frontend-metrics",
            self.options.endpoint
        );
        if let Some(key) = &self.options.key {
            url.push_str("?key=");
            url.push_str(&String::from(js_sys::encode_uri_component(key)));
        }
        url
    }
}

/// The page's URL without query string and fragment, which often carry tokens or personal data.
fn page_url() -> String {
    web_sys::window()
        .map(|w| w.location())
        .and_then(|l| Some(l.origin().ok()? + &l.pathname().ok()?))
        .unwrap_or_default()
}

/// 128 random bits as 32 hex digits (`crypto.randomUUID` needs a secure context; this does not).
fn random_id() -> String {
    (0..4)
        .map(|_| format!("{:08x}", (js_sys::Math::random() * 4_294_967_296.0) as u32))
        .collect()
}

/// The object `onMetric` receives, shaped like web-vitals' `Metric`.
fn metric_object(metric: &Metric) -> Object {
    let object = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&object, &JsValue::from_str(key), &value);
    };
    set("name", metric.name.into());
    set("value", metric.value.into());
    set("delta", metric.delta.into());
    set("id", metric.id.as_str().into());
    set("rating", metric.rating.into());
    set("navigationType", metric.navigation_type.into());
    set("entries", Array::from(&metric.entries).into());
    object
}
