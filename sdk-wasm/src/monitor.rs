//! The monitor's shared state: the page's identity and page views, the queue of events and
//! the flush.

use crate::prelude::*;

use alloc::rc::Rc;
use core::cell::{Cell, RefCell};

use js_sys::Object;
use wasm_bindgen::prelude::*;

use crate::bindings::set;
use crate::options::Options;
use crate::transport;
use crate::vitals::{Metric, Value};
use crate::wire::{self, Header};

/// Protocol v1 limits (`perfwatch_protocol::LIMITS`): batches are split to fit before sending.
const MAX_BATCH_EVENTS: usize = 200;
const MAX_BATCH_BYTES: usize = 64 * 1024;

/// Kinds of events that are capped per page view.
#[derive(Clone, Copy)]
pub enum Capped {
    Resource = 0,
    LongTask = 1,
    AnimationFrame = 2,
}

/// One monitor per page: what it reports about, and what it has still to send.
pub struct Core {
    pub options: Options,
    /// Whether the browser reports soft navigations that the metrics follow (decided once).
    pub soft_navigations: bool,
    header: RefCell<Header>,
    page_view_id: RefCell<Rc<str>>,
    /// Whether this session reports to the collector (`sampleRate`).
    sampled: bool,
    /// Serialized events waiting for the next flush; never more than one full batch, since
    /// reaching that flushes at once.
    queue: RefCell<Vec<String>>,
    next_event: Cell<u32>,
    /// Events of each [`Capped`] kind taken in this page view.
    capped: Cell<[u32; 3]>,
    /// Events not sent: too large for any batch, or over a per-page-view cap.
    dropped: Cell<u32>,
}

impl Core {
    pub fn new(options: Options) -> Core {
        let page_view_id: Rc<str> = random_id().into();
        let header = Header {
            app: options.app.clone(),
            release: options.release.clone(),
            session_id: random_id(),
            page_view_id: String::from(&*page_view_id),
            user_id: options.user_id.clone(),
            url: page_url(),
            route: options.route.clone(),
            time_origin: crate::bindings::performance()
                .map(|p| p.time_origin())
                .unwrap_or(0.0),
        };
        Core {
            soft_navigations: crate::vitals::soft_navigations_enabled(),
            sampled: js_sys::Math::random() < options.sample_rate,
            options,
            header: RefCell::new(header),
            page_view_id: RefCell::new(page_view_id),
            queue: RefCell::new(Vec::new()),
            next_event: Cell::new(0),
            capped: Cell::new([0; 3]),
            dropped: Cell::new(0),
        }
    }

    pub fn session_id(&self) -> String {
        self.header.borrow().session_id.clone()
    }

    /// The current page view's id.
    pub fn page_view_id(&self) -> Rc<str> {
        self.page_view_id.borrow().clone()
    }

    /// An id unique within the session, for events that are not metric reports.
    pub fn next_event_id(&self) -> String {
        let n = self.next_event.get() + 1;
        self.next_event.set(n);
        let mut id = String::from(&*self.page_view_id());
        id.push('-');
        wire::number(&mut id, f64::from(n));
        id
    }

    /// Starts a new page view: what is queued goes out with the old one, then events carry the
    /// new id. A bfcache restore keeps the document's URL and route (`url` `None`); a route
    /// change has a new URL and no route until the app names it.
    pub fn start_page_view(&self, navigation_type: &str, start_time: f64, url: Option<String>) {
        self.flush();
        let id: Rc<str> = random_id().into();
        {
            let mut header = self.header.borrow_mut();
            header.page_view_id = String::from(&*id);
            if let Some(url) = url {
                header.url = url;
                header.route = None;
            }
        }
        *self.page_view_id.borrow_mut() = id;
        self.capped.set([0; 3]);
        self.enqueue(wire::page_view(
            &self.next_event_id(),
            navigation_type,
            start_time,
        ));
    }

    /// Names the current page view's route (e.g. `/chat/:id`).
    pub fn set_route(&self, route: Option<String>) {
        self.header.borrow_mut().route = route;
    }

    /// Whether one more event of `kind` may be sent in this page view (at most `limit`);
    /// those over the limit are counted as dropped.
    pub fn take_capped(&self, kind: Capped, limit: u32) -> bool {
        let mut counts = self.capped.get();
        let count = &mut counts[kind as usize];
        if *count >= limit {
            self.dropped.set(self.dropped.get() + 1);
            return false;
        }
        *count += 1;
        self.capped.set(counts);
        true
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
        let current = self.page_view_id();
        self.enqueue(wire::web_vital(&metric.wire(&current)));
    }

    /// Sends everything queued, split into batches that fit the collector's limits.
    pub fn flush(&self) {
        let events = core::mem::take(&mut *self.queue.borrow_mut());
        if events.is_empty() {
            return;
        }
        let header = self.header.borrow();
        let overhead = wire::batch_overhead(&header);
        let (batches, oversized) = wire::split(events, overhead, MAX_BATCH_EVENTS, MAX_BATCH_BYTES);
        self.dropped.set(self.dropped.get() + oversized as u32);
        let url = self.ingest_url();
        for events in batches {
            transport::send(&url, &wire::batch(&header, js_sys::Date::now(), &events));
        }
    }

    /// The collector's ingest URL, also what the SDK must not measure as a resource.
    pub fn ingest_url(&self) -> String {
        let mut url = self.options.endpoint.clone();
        url.push_str("/api/v1/monitoring/frontend-metrics");
        if let Some(key) = &self.options.key {
            url.push_str("?key=");
            url.push_str(&String::from(js_sys::encode_uri_component(key)));
        }
        url
    }
}

/// The page's URL without query string and fragment, which often carry tokens or personal data.
pub fn page_url() -> String {
    web_sys::window()
        .map(|w| w.location())
        .and_then(|l| Some(l.origin().ok()? + &l.pathname().ok()?))
        .unwrap_or_default()
}

/// 128 random bits as 32 hex digits (`crypto.randomUUID` needs a secure context; this does not).
fn random_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(32);
    for _ in 0..4 {
        let bits = (js_sys::Math::random() * 4_294_967_296.0) as u32;
        for shift in (0..32).step_by(4).rev() {
            id.push(HEX[((bits >> shift) & 0xf) as usize] as char);
        }
    }
    id
}

/// The object `onMetric` receives, shaped like web-vitals' `Metric` with its attribution.
fn metric_object(metric: &Metric) -> Object {
    let object = Object::new();
    set(&object, "name", metric.name.into());
    set(&object, "value", metric.value.into());
    set(&object, "delta", metric.delta.into());
    set(&object, "id", metric.id.as_str().into());
    set(&object, "rating", metric.rating.into());
    set(&object, "navigationType", metric.navigation_type.into());
    set(&object, "entries", metric.entries.clone().into());
    let attribution = Object::new();
    for (key, value) in &metric.attribution {
        let value = match value {
            Value::Num(n) => JsValue::from(*n),
            Value::Str(s) => JsValue::from(s.as_str()),
        };
        set(&attribution, key, value);
    }
    set(&object, "attribution", attribution.into());
    object
}
