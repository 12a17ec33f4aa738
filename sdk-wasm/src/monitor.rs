//! The monitor's shared state: the page's identity and page views, the queue of events and
//! the flush.

use crate::prelude::*;

use alloc::rc::Rc;
use core::cell::{Cell, RefCell};

use js_sys::Object;
use wasm_bindgen::prelude::*;

use crate::bindings::{self, set, Host};
use crate::options::Options;
use crate::session::{self, Session};
use crate::transport::{self, Transport};
use crate::vitals::{Metric, Value};
use crate::wire::{self, Header};

/// Protocol v1 limits (`perfwatch_protocol::LIMITS`): batches are split to fit before sending.
const MAX_BATCH_EVENTS: usize = 200;
const MAX_BATCH_BYTES: usize = 64 * 1024;
/// An error's message is sent up to this many bytes, each of its stacks up to `MAX_STACK_BYTES`.
const MAX_MESSAGE_BYTES: usize = 2048;
const MAX_STACK_BYTES: usize = 16 * 1024;

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
    /// The document's URL (as sent) when the app last named the route: a soft navigation the
    /// browser reports after the app has named its route keeps that name.
    route_named_at: RefCell<Option<String>>,
    page_view_id: RefCell<Rc<str>>,
    /// The tab's session; whether it reports at all is decided with it (`sampleRate`).
    session: RefCell<Session>,
    /// The page's origin, which resource URLs are compared with when scrubbed.
    page_origin: String,
    host: Host,
    transport: Transport,
    /// Serialized events waiting for the next send; never more than `flushAt`, since reaching
    /// that sends at once.
    queue: RefCell<Vec<String>>,
    /// Whether a timed send is due (`flushInterval` after the first event queued since the
    /// last send).
    timer_armed: Cell<bool>,
    next_event: Cell<u32>,
    /// Events of each [`Capped`] kind taken in this page view.
    capped: Cell<[u32; 3]>,
    /// Events not sent: too large for any batch, over a per-page-view cap, or dropped by
    /// `beforeSend`.
    dropped: Cell<u32>,
}

impl Core {
    pub fn new(options: Options, host: Host) -> Core {
        let page_view_id: Rc<str> = random_id().into();
        let now = js_sys::Date::now();
        let stored = host.load(session::STORAGE_KEY, true);
        let session = session::resume_or_start(
            stored.as_deref(),
            now,
            random_id,
            options.sample_rate,
            js_sys::Math::random(),
        );
        host.save(session::STORAGE_KEY, &session.encode(), true);
        let header = Header {
            app: options.app.clone(),
            release: options.release.clone(),
            session_id: session.id.clone(),
            page_view_id: String::from(&*page_view_id),
            user_id: options.user_id.clone(),
            url: options.scrub.page_url(&location_href()),
            route: options.route.clone(),
            time_origin: crate::bindings::performance()
                .map(|p| p.time_origin())
                .unwrap_or(0.0),
        };
        let transport = Transport::new(ingest_url(&options), options.compress, host.clone());
        Core {
            soft_navigations: crate::vitals::soft_navigations_enabled(),
            options,
            header: RefCell::new(header),
            route_named_at: RefCell::new(None),
            page_view_id: RefCell::new(page_view_id),
            session: RefCell::new(session),
            page_origin: web_sys::window()
                .and_then(|w| w.location().origin().ok())
                .unwrap_or_default(),
            host,
            transport,
            queue: RefCell::new(Vec::new()),
            timer_armed: Cell::new(false),
            next_event: Cell::new(0),
            capped: Cell::new([0; 3]),
            dropped: Cell::new(0),
        }
    }

    /// Sends what earlier pages left in the offline store.
    pub fn resend_stored(&'static self) {
        self.transport.resend_stored();
    }

    /// An answer from the collector to request `id` (see [`Transport::answered`]).
    pub fn answered(&'static self, id: u32, status: u16, retry_after_ms: f64) {
        self.transport.answered(id, status, retry_after_ms);
    }

    pub fn session_id(&self) -> String {
        self.session.borrow().id.clone()
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
    /// change has a new URL and no route until the app names it, unless the app named it at
    /// that URL already (a soft navigation is reported after the new route has painted, so
    /// after a router has named it).
    pub fn start_page_view(
        &'static self,
        navigation_type: &str,
        start_time: f64,
        url: Option<String>,
    ) {
        self.flush();
        let id: Rc<str> = random_id().into();
        {
            let mut header = self.header.borrow_mut();
            header.page_view_id = String::from(&*id);
            if let Some(url) = url {
                if self.route_named_at.borrow().as_deref() != Some(url.as_str()) {
                    header.route = None;
                }
                header.url = url;
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

    /// `url` as sent for the page: see [`crate::scrub`].
    pub fn page_url(&self, url: &str) -> String {
        self.options.scrub.page_url(url)
    }

    /// A resource's (or script's) `url` as sent: on another origin, only that origin unless
    /// allowed; see [`crate::scrub`].
    pub fn resource_url(&self, url: &str) -> String {
        self.options.scrub.url(url, &self.page_origin)
    }

    /// Records the app's own API call, its URL and name scrubbed.
    pub fn record_api_call(&'static self, mut call: wire::ApiCall) {
        call.name = self.options.scrub.name(&call.name);
        call.url = call.url.map(|url| self.page_url(&url));
        self.enqueue(wire::api_call(&self.next_event_id(), &call));
    }

    /// Records an `interaction` (`ok` given) or a `measure`, its name scrubbed.
    pub fn record_timed(
        &'static self,
        name: &str,
        start_time: f64,
        duration: f64,
        ok: Option<bool>,
    ) {
        let kind = if ok.is_some() {
            "interaction"
        } else {
            "measure"
        };
        let name = self.options.scrub.name(name);
        let event = wire::timed(&self.next_event_id(), kind, &name, start_time, duration, ok);
        self.enqueue(event);
    }

    /// Records an error, its message and stacks scrubbed as free text and bounded (2 KB for
    /// the message, 16 KB for each stack).
    pub fn record_error(&'static self, mut error: wire::BrowserError) {
        let scrub = &self.options.scrub;
        error.kind = scrub.name(&error.kind);
        error.name = error.name.map(|name| scrub.name(&name));
        error.message = scrub.text(&error.message, MAX_MESSAGE_BYTES);
        error.stack = error.stack.map(|s| scrub.text(&s, MAX_STACK_BYTES));
        error.component_stack = error
            .component_stack
            .map(|s| scrub.text(&s, MAX_STACK_BYTES));
        self.enqueue(wire::error(&self.next_event_id(), &error));
    }

    /// Names the current page view's route (e.g. `/chat/:id`).
    pub fn set_route(&self, route: Option<String>) {
        *self.route_named_at.borrow_mut() = Some(self.page_url(&location_href()));
        self.header.borrow_mut().route = route;
    }

    /// Sets or clears the user id of the events queued from now on.
    pub fn set_user(&'static self, user_id: Option<String>) {
        self.flush();
        self.header.borrow_mut().user_id = user_id;
    }

    /// Whether one more event of `kind` may be sent in this page view (at most `limit`);
    /// those over the limit are counted as dropped.
    pub fn take_capped(&self, kind: Capped, limit: u32) -> bool {
        let mut counts = self.capped.get();
        let count = &mut counts[kind as usize];
        if *count >= limit {
            self.drop_events(1);
            return false;
        }
        *count += 1;
        self.capped.set(counts);
        true
    }

    fn drop_events(&self, count: u32) {
        self.dropped.set(self.dropped.get() + count);
    }

    /// Events not sent so far (over a cap, too large, dropped by `beforeSend`), and what
    /// the transport counted.
    pub fn counts(&self) -> (u32, transport::Counts) {
        (self.dropped.get(), self.transport.counts())
    }

    /// Queues one serialized event (after `beforeSend`); `flushAt` events, or `flushInterval`
    /// after the first, send them.
    pub fn enqueue(&'static self, event: String) {
        if !self.touch_session() {
            return;
        }
        let Some(event) = self.before_send(event) else {
            self.drop_events(1);
            return;
        };
        let count = {
            let mut queue = self.queue.borrow_mut();
            queue.push(event);
            queue.len()
        };
        if count >= self.options.flush_at as usize {
            self.flush();
        } else if !self.timer_armed.get() && self.options.flush_interval > 0 {
            self.timer_armed.set(true);
            let send = crate::lifecycle::function_once(move || {
                if self.timer_armed.get() {
                    self.flush();
                }
            });
            bindings::set_timeout(&send, self.options.flush_interval as i32);
        }
    }

    /// Marks activity now; a session that has ended is replaced (what was queued goes out
    /// with the old one). Whether the session reports.
    fn touch_session(&'static self) -> bool {
        let now = js_sys::Date::now();
        let expired = self.session.borrow().expired(now);
        if expired {
            self.flush();
            let session = Session::start(
                random_id(),
                now,
                self.options.sample_rate,
                js_sys::Math::random(),
            );
            self.header.borrow_mut().session_id = session.id.clone();
            self.host
                .save(session::STORAGE_KEY, &session.encode(), true);
            *self.session.borrow_mut() = session;
        }
        let mut session = self.session.borrow_mut();
        session.last_active_at = now;
        session.sampled
    }

    /// The event as `beforeSend` leaves it: `None` when it drops it, throws, or returns
    /// something that is not an object JSON can write (a cyclic one, say).
    fn before_send(&self, event: String) -> Option<String> {
        let Some(hook) = &self.options.before_send else {
            return Some(event);
        };
        let object = js_sys::JSON::parse(&event).ok()?;
        let edited = match hook.call1(&JsValue::NULL, &object) {
            Ok(edited) => edited,
            Err(_) => {
                self.host
                    .warn("perfwatch: `beforeSend` threw; the event is dropped");
                return None;
            }
        };
        if edited.is_null() || edited.is_undefined() || edited.is_falsy() {
            return None;
        }
        let json = edited
            .is_object()
            .then(|| js_sys::JSON::stringify(&edited).ok())
            .flatten()
            .and_then(|s| s.as_string());
        if json.is_none() {
            self.host.warn(
                "perfwatch: `beforeSend` must return the event object (JSON-serializable, not cyclic), or null to drop it; the event is dropped",
            );
        }
        json
    }

    /// Hands a metric report to `onMetric` and queues it for the collector.
    pub fn emit_metric(&'static self, metric: &Metric) {
        if let Some(on_metric) = &self.options.on_metric {
            let _ = on_metric.call1(&JsValue::NULL, &metric_object(metric));
        }
        let current = self.page_view_id();
        let mut report = metric.wire(&current);
        // `onMetric` has web-vitals' attribution; the collector gets the LCP resource's URL
        // scrubbed like every other.
        let scrubbed: Vec<(&'static str, Value)>;
        if metric.attribution.iter().any(|(key, _)| *key == "url") {
            scrubbed = metric
                .attribution
                .iter()
                .map(|(key, value)| match value {
                    Value::Str(url) if *key == "url" => (*key, Value::Str(self.resource_url(url))),
                    _ => (*key, value.clone()),
                })
                .collect();
            report.attribution = &scrubbed;
        }
        self.enqueue(wire::web_vital(&report));
    }

    /// The queued events, in batches that fit the collector's limits.
    fn take_batches(&self) -> Vec<wire::Batch> {
        self.timer_armed.set(false);
        let events = core::mem::take(&mut *self.queue.borrow_mut());
        if events.is_empty() {
            return Vec::new();
        }
        let head = wire::head(&self.header.borrow());
        let (batches, oversized) = wire::split(&head, events, MAX_BATCH_EVENTS, MAX_BATCH_BYTES);
        self.drop_events(oversized as u32);
        self.save_session();
        batches
    }

    fn save_session(&self) {
        self.host
            .save(session::STORAGE_KEY, &self.session.borrow().encode(), true);
    }

    /// Sends everything queued, answers seen and retried.
    pub fn flush(&'static self) {
        for batch in self.take_batches() {
            self.transport.send(batch);
        }
    }

    /// The page is being hidden or unloaded: everything queued or waiting goes by beacon.
    pub fn flush_unload(&'static self) {
        let batches = self.take_batches();
        self.transport.unload(batches);
    }
}

/// The collector's ingest URL, also what the SDK must not measure as a resource.
pub fn ingest_url(options: &Options) -> String {
    let mut url = options.endpoint.clone();
    url.push_str("/api/v1/monitoring/frontend-metrics");
    if let Some(key) = &options.key {
        url.push_str("?key=");
        url.push_str(&String::from(js_sys::encode_uri_component(key)));
    }
    url
}

/// The page's address as the browser has it (scrub it before sending).
pub fn location_href() -> String {
    web_sys::window()
        .and_then(|w| w.location().href().ok())
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
