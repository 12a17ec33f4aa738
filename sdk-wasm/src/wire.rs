//! The JSON the SDK sends: protocol v1 (`perfwatch-protocol`), written by hand to keep the
//! module small (serde_json would add ~2.4 KB gzip; Rust float formatting ~9 KB). Everything
//! here is pure Rust over plain data, so a round-trip test can prove the protocol crate parses
//! what it writes (tests/roundtrip.rs).

use crate::prelude::*;

/// Formats a number as JSON. In the browser this is JavaScript's `String(n)` (shortest
/// round-trip form); natively (unit tests) Rust's `Display`, which is also shortest round-trip.
/// Non-finite numbers become `null`, which the collector rejects with a reason.
pub fn number(out: &mut String, value: f64) {
    if !value.is_finite() {
        out.push_str("null");
        return;
    }
    #[cfg(target_arch = "wasm32")]
    out.push_str(&crate::bindings::number_to_string(value));
    #[cfg(not(target_arch = "wasm32"))]
    {
        use core::fmt::Write;
        let _ = write!(out, "{value}");
    }
}

/// `value` (non-negative) without its fraction (`f64::floor` is std only).
pub fn whole(value: f64) -> f64 {
    value as u64 as f64
}

/// A whole number written by [`number`] (epoch milliseconds), read back without core's float
/// parser (several KB of wasm). `None` for anything but decimal digits, or more than 15 of them.
pub fn parse_uint(text: &str) -> Option<f64> {
    if text.is_empty() || text.len() > 15 {
        return None;
    }
    text.bytes().try_fold(0.0, |n, b| {
        b.is_ascii_digit().then(|| n * 10.0 + f64::from(b - b'0'))
    })
}

/// Appends `value` as a JSON string literal.
pub fn string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 0xf] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes one JSON object, field by field.
pub struct Object<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Object<'a> {
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        Object { out, empty: true }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        string(self.out, key);
        self.out.push(':');
        self.out
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        string(self.key(key), value);
        self
    }

    pub fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            self.str(key, value);
        }
        self
    }

    pub fn num(&mut self, key: &str, value: f64) -> &mut Self {
        number(self.key(key), value);
        self
    }

    pub fn opt_num(&mut self, key: &str, value: Option<f64>) -> &mut Self {
        if let Some(value) = value {
            self.num(key, value);
        }
        self
    }

    /// A value that is already JSON (an array of events).
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key).push_str(json);
        self
    }

    pub fn finish(self) {
        self.out.push('}');
    }
}

/// The batch's own fields (protocol `BatchHeader`).
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub app: String,
    pub release: Option<String>,
    pub session_id: String,
    pub page_view_id: String,
    pub user_id: Option<String>,
    pub url: String,
    pub route: Option<String>,
    pub time_origin: f64,
}

/// A batch on its way: the header's JSON fields (`"v":1,"app":...`, written once) and events
/// that are already JSON objects. `sent_at` is written when it is sent, first in the object,
/// so that a batch kept offline is dated by the send that delivers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub head: String,
    pub events: Vec<String>,
}

impl Batch {
    /// The batch as sent at `sent_at` (epoch ms).
    pub fn body(&self, sent_at: f64) -> String {
        let mut out = String::with_capacity(self.bytes());
        out.push_str("{\"sent_at\":");
        number(&mut out, sent_at);
        out.push(',');
        out.push_str(&self.head);
        out.push_str(",\"events\":[");
        for (i, e) in self.events.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(e);
        }
        out.push_str("]}");
        out
    }

    /// Its size on the wire in bytes (UTF-8), `sent_at` counted at its longest.
    pub fn bytes(&self) -> usize {
        BODY_OVERHEAD + self.head.len() + self.events.iter().map(|e| e.len() + 1).sum::<usize>()
    }

    /// Each half of the events with the same header; `None` for a single event.
    pub fn halves(mut self) -> Option<(Batch, Batch)> {
        if self.events.len() < 2 {
            return None;
        }
        let second = self.events.split_off(self.events.len() / 2);
        let head = self.head.clone();
        Some((
            self,
            Batch {
                head,
                events: second,
            },
        ))
    }
}

/// `{"sent_at":` + up to 20 characters of number + `,` + `,"events":[` + `]}`.
const BODY_OVERHEAD: usize = 11 + 20 + 1 + 11 + 2;

/// The header's fields as JSON, without the braces.
pub fn head(header: &Header) -> String {
    let mut out = String::with_capacity(256);
    let mut o = Object::new(&mut out);
    o.num("v", 1.0)
        .str("app", &header.app)
        .opt_str("release", header.release.as_deref())
        .str("session_id", &header.session_id)
        .str("page_view_id", &header.page_view_id)
        .opt_str("user_id", header.user_id.as_deref())
        .str("url", &header.url)
        .opt_str("route", header.route.as_deref())
        .num("time_origin", header.time_origin);
    o.finish();
    // Without the braces (no `String::remove`: its panic pulls in core's formatting).
    out.get(1..out.len() - 1)
        .map(String::from)
        .unwrap_or_default()
}

/// Writes a whole batch: the header, `sent_at`, and events that are already JSON objects.
pub fn batch(header: &Header, sent_at: f64, events: &[String]) -> String {
    Batch {
        head: head(header),
        events: events.to_vec(),
    }
    .body(sent_at)
}

/// A `page_view` event: a page load, a bfcache restore or a soft navigation starts one.
pub fn page_view(event_id: &str, navigation_type: &str, start_time: f64) -> String {
    let mut out = String::new();
    let mut o = Object::new(&mut out);
    o.str("type", "page_view")
        .str("event_id", event_id)
        .str("navigation_type", navigation_type)
        .num("start_time", start_time);
    o.finish();
    out
}

/// One attribution value, as web-vitals' attribution objects hold them.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Num(f64),
    Str(String),
}

/// A metric's attribution: web-vitals' field names (camelCase; the wire writes them in
/// snake_case) and values, in order.
pub type Attribution = Vec<(&'static str, Value)>;

/// A `web_vital` report, in web-vitals' shape plus `seq`.
#[derive(Debug, Clone, PartialEq)]
pub struct VitalReport<'a> {
    pub name: &'a str,
    pub value: f64,
    pub delta: f64,
    pub id: &'a str,
    pub seq: u32,
    pub rating: &'a str,
    pub navigation_type: &'a str,
    pub attribution: &'a [(&'static str, Value)],
    /// The page view the metric belongs to, when it is not the batch's (a metric of the previous
    /// page view reported after a soft navigation).
    pub page_view_id: Option<&'a str>,
}

/// A `web_vital` event; its `event_id` is the metric id and `seq`, unique within the session.
pub fn web_vital(r: &VitalReport<'_>) -> String {
    let mut out = String::new();
    let seq = f64::from(r.seq);
    let mut event_id = String::with_capacity(r.id.len() + 4);
    event_id.push_str(r.id);
    event_id.push('-');
    number(&mut event_id, seq);
    let mut attribution = String::new();
    let mut a = Object::new(&mut attribution);
    for (key, value) in r.attribution {
        let key = snake_case(key);
        match value {
            Value::Num(n) => a.num(&key, *n),
            Value::Str(s) => a.str(&key, s),
        };
    }
    a.finish();
    let mut o = Object::new(&mut out);
    o.str("type", "web_vital")
        .str("event_id", &event_id)
        .opt_str("page_view_id", r.page_view_id)
        .str("name", r.name)
        .num("value", r.value)
        .num("delta", r.delta)
        .str("id", r.id)
        .num("seq", seq)
        .str("rating", r.rating)
        .str("navigation_type", r.navigation_type)
        .raw("attribution", &attribution);
    o.finish();
    out
}

/// An `api_call` event (`monitorApiCall`, or a fetch the SDK instruments). `url` is the called
/// URL; `status` 0 when no answer came.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiCall {
    pub name: String,
    pub method: Option<String>,
    pub url: Option<String>,
    pub status: u16,
    pub ok: bool,
    pub start_time: f64,
    pub duration: f64,
    /// The error's name (`TypeError`, `AbortError`) when the call threw.
    pub error_type: Option<String>,
    /// The W3C trace id sent in the call's `traceparent` header.
    pub trace_id: Option<String>,
}

pub fn api_call(event_id: &str, c: &ApiCall) -> String {
    let mut out = String::new();
    let mut o = Object::new(&mut out);
    o.str("type", "api_call")
        .str("event_id", event_id)
        .str("name", &c.name)
        .opt_str("method", c.method.as_deref())
        .opt_str("url", c.url.as_deref())
        .num("status", f64::from(c.status))
        .raw("ok", if c.ok { "true" } else { "false" })
        .num("start_time", c.start_time)
        .num("duration", c.duration)
        .opt_str("error_type", c.error_type.as_deref())
        .opt_str("trace_id", c.trace_id.as_deref());
    o.finish();
    out
}

/// An `interaction` (`monitorUserInteraction`; `ok` false when the handler threw) or a
/// `measure` (`measure()`) event: a named span of the app's own work.
pub fn timed(
    event_id: &str,
    kind: &str,
    name: &str,
    start_time: f64,
    duration: f64,
    ok: Option<bool>,
) -> String {
    let mut out = String::new();
    let mut o = Object::new(&mut out);
    o.str("type", kind)
        .str("event_id", event_id)
        .str("name", name)
        .num("start_time", start_time)
        .num("duration", duration);
    if let Some(ok) = ok {
        o.raw("ok", if ok { "true" } else { "false" });
    }
    o.finish();
    out
}

/// An `error` event: a render error an error boundary caught (`kind` `render`), or one the
/// app reports itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BrowserError {
    pub kind: String,
    /// The error's name (`TypeError`).
    pub name: Option<String>,
    pub message: String,
    pub stack: Option<String>,
    /// React's component stack, for a render error.
    pub component_stack: Option<String>,
    pub start_time: f64,
}

pub fn error(event_id: &str, e: &BrowserError) -> String {
    let mut out = String::new();
    let mut o = Object::new(&mut out);
    o.str("type", "error")
        .str("event_id", event_id)
        .str("kind", &e.kind)
        .opt_str("name", e.name.as_deref())
        .str("message", &e.message)
        .opt_str("stack", e.stack.as_deref())
        .opt_str("component_stack", e.component_stack.as_deref())
        .num("start_time", e.start_time);
    o.finish();
    out
}

/// `timeToFirstByte` → `time_to_first_byte`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A `long_task` event (`longtask` entry; its container from the first attribution).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LongTask {
    pub start_time: f64,
    pub duration: f64,
    pub name: Option<String>,
    pub container: Option<String>,
}

pub fn long_task(event_id: &str, t: &LongTask) -> String {
    let mut out = String::new();
    let mut o = Object::new(&mut out);
    o.str("type", "long_task")
        .str("event_id", event_id)
        .num("start_time", t.start_time)
        .num("duration", t.duration)
        .opt_str("name", t.name.as_deref())
        .opt_str("container", t.container.as_deref());
    o.finish();
    out
}

/// A `long_animation_frame` event, with the frame's longest script where the browser says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnimationFrame {
    pub start_time: f64,
    pub duration: f64,
    pub blocking_duration: f64,
    pub render_start: Option<f64>,
    pub style_and_layout_start: Option<f64>,
    pub script_url: Option<String>,
    pub script_function: Option<String>,
    pub script_invoker: Option<String>,
    pub script_duration: Option<f64>,
}

pub fn long_animation_frame(event_id: &str, f: &AnimationFrame) -> String {
    let mut out = String::new();
    let mut o = Object::new(&mut out);
    o.str("type", "long_animation_frame")
        .str("event_id", event_id)
        .num("start_time", f.start_time)
        .num("duration", f.duration)
        .num("blocking_duration", f.blocking_duration)
        .opt_num("render_start", f.render_start)
        .opt_num("style_and_layout_start", f.style_and_layout_start)
        .opt_str("script_url", f.script_url.as_deref())
        .opt_str("script_function", f.script_function.as_deref())
        .opt_str("script_invoker", f.script_invoker.as_deref())
        .opt_num("script_duration", f.script_duration);
    o.finish();
    out
}

/// A `resource` event (`PerformanceResourceTiming`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resource {
    pub name: String,
    pub initiator_type: String,
    pub start_time: f64,
    pub duration: f64,
    pub transfer_size: Option<f64>,
    pub encoded_body_size: Option<f64>,
    pub decoded_body_size: Option<f64>,
    pub render_blocking_status: Option<String>,
    pub response_status: Option<f64>,
    pub protocol: Option<String>,
}

pub fn resource(event_id: &str, r: &Resource) -> String {
    let mut out = String::new();
    let mut o = Object::new(&mut out);
    o.str("type", "resource")
        .str("event_id", event_id)
        .str("name", &r.name)
        .str("initiator_type", &r.initiator_type)
        .num("start_time", r.start_time)
        .num("duration", r.duration)
        .opt_num("transfer_size", r.transfer_size)
        .opt_num("encoded_body_size", r.encoded_body_size)
        .opt_num("decoded_body_size", r.decoded_body_size)
        .opt_str(
            "render_blocking_status",
            r.render_blocking_status.as_deref(),
        )
        .opt_num("response_status", r.response_status)
        .opt_str("protocol", r.protocol.as_deref());
    o.finish();
    out
}

/// The navigation timing breakdown (protocol `Navigation`), in ms after `time_origin`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NavigationTiming {
    pub navigation_type: String,
    pub protocol: Option<String>,
    pub redirect: f64,
    pub dns: f64,
    pub connect: f64,
    pub tls: f64,
    pub ttfb: f64,
    pub request: f64,
    pub download: f64,
    pub dom_interactive: f64,
    pub dom_content_loaded: f64,
    pub dom_complete: f64,
    pub load: f64,
    pub transfer_size: Option<f64>,
    pub encoded_body_size: Option<f64>,
    pub decoded_body_size: Option<f64>,
}

/// A `navigation` event.
pub fn navigation(event_id: &str, n: &NavigationTiming) -> String {
    let mut out = String::new();
    let mut o = Object::new(&mut out);
    o.str("type", "navigation")
        .str("event_id", event_id)
        .str("navigation_type", &n.navigation_type)
        .opt_str("protocol", n.protocol.as_deref().filter(|p| !p.is_empty()))
        .num("redirect", n.redirect)
        .num("dns", n.dns)
        .num("connect", n.connect)
        .num("tls", n.tls)
        .num("ttfb", n.ttfb)
        .num("request", n.request)
        .num("download", n.download)
        .num("dom_interactive", n.dom_interactive)
        .num("dom_content_loaded", n.dom_content_loaded)
        .num("dom_complete", n.dom_complete)
        .num("load", n.load)
        .opt_num("transfer_size", n.transfer_size)
        .opt_num("encoded_body_size", n.encoded_body_size)
        .opt_num("decoded_body_size", n.decoded_body_size);
    o.finish();
    out
}

/// Splits queued events into batches of at most `max_events` events and `max_bytes` bytes
/// (header included), each with the header `head`. An event that alone would not fit is
/// counted in `oversized` rather than sent to be refused.
pub fn split(
    head: &str,
    events: Vec<String>,
    max_events: usize,
    max_bytes: usize,
) -> (Vec<Batch>, usize) {
    let overhead = BODY_OVERHEAD + head.len();
    let batch = |events| Batch {
        head: String::from(head),
        events,
    };
    let mut batches = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut size = overhead;
    let mut oversized = 0;
    for event in events {
        let cost = event.len() + 1;
        if overhead + cost > max_bytes {
            oversized += 1;
            continue;
        }
        if !current.is_empty() && (current.len() == max_events || size + cost > max_bytes) {
            batches.push(batch(core::mem::take(&mut current)));
            size = overhead;
        }
        size += cost;
        current.push(event);
    }
    if !current.is_empty() {
        batches.push(batch(current));
    }
    (batches, oversized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c\nd\u{1}é界");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é界""#);
    }

    #[test]
    fn attribution_names_are_written_in_snake_case() {
        assert_eq!(snake_case("timeToFirstByte"), "time_to_first_byte");
        assert_eq!(snake_case("url"), "url");
    }

    #[test]
    fn non_finite_numbers_become_null() {
        let mut out = String::new();
        number(&mut out, f64::NAN);
        assert_eq!(out, "null");
    }

    #[test]
    fn split_respects_count_and_bytes() {
        let events: Vec<String> = (0..5).map(|i| format!("{{\"i\":{i}}}")).collect();
        let sizes = |batches: &[Batch]| batches.iter().map(|b| b.events.len()).collect::<Vec<_>>();
        let (batches, oversized) = split("h", events.clone(), 2, 1000);
        assert_eq!(sizes(&batches), [2, 2, 1]);
        assert_eq!(oversized, 0);
        // Each event costs 8 bytes with its comma; the overhead is 45 + 1; 46 + 3 * 8 > 66.
        let (batches, _) = split("h", events, 100, 66);
        assert_eq!(sizes(&batches), [2, 2, 1]);
        for batch in &batches {
            assert!(batch.body(1e13).len() <= 66);
        }
        let (batches, oversized) = split("h", vec!["x".repeat(50)], 100, 66);
        assert!(batches.is_empty());
        assert_eq!(oversized, 1);
    }
}
