//! The browser batch of protocol v1 (CONTRACT.md, "Wire protocol v1").
//!
//! Times inside a batch are milliseconds relative to the page's `time_origin` (epoch ms,
//! `performance.timeOrigin`); fields named `*_at` are epoch milliseconds. Unknown fields are
//! ignored, so newer SDKs can add fields without breaking older collectors.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use crate::entries::{LongAnimationFrame, LongTask, Resource};
use crate::limits::LIMITS;
use crate::validate::{self as v, ValidationError};

/// The batch's own fields: everything but `events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchHeader {
    /// Protocol version; must be [`crate::PROTOCOL_VERSION`].
    pub v: u32,
    /// The application's name, as given to `init({ app })`.
    pub app: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    pub session_id: String,
    /// The page view the events belong to unless an event names its own.
    pub page_view_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// `performance.timeOrigin` of the page, epoch ms.
    pub time_origin: f64,
    /// When the SDK wrote the batch, epoch ms on the client's clock.
    pub sent_at: f64,
}

impl BatchHeader {
    /// The envelope rules. A batch that breaks one is refused whole (422).
    pub fn validate(&self) -> Result<(), ValidationError> {
        v::required_string("app", &self.app, LIMITS.name_bytes)?;
        v::opt_string("release", self.release.as_deref(), LIMITS.name_bytes)?;
        v::required_string("session_id", &self.session_id, LIMITS.name_bytes)?;
        v::required_string("page_view_id", &self.page_view_id, LIMITS.name_bytes)?;
        v::opt_string("user_id", self.user_id.as_deref(), LIMITS.name_bytes)?;
        v::string("url", &self.url, LIMITS.url_bytes)?;
        v::opt_string("route", self.route.as_deref(), LIMITS.url_bytes)?;
        positive_epoch("time_origin", self.time_origin)?;
        positive_epoch("sent_at", self.sent_at)?;
        // The page cannot have started after the batch was sent. (An old `time_origin` is
        // fine: a tab may stay open for weeks; its items are dated one by one.)
        let ahead = self.time_origin - self.sent_at;
        if ahead > LIMITS.max_ahead_ms as f64 {
            return Err(ValidationError::TooFarAhead {
                ahead_ms: ahead,
                max: LIMITS.max_ahead_ms,
            });
        }
        Ok(())
    }
}

fn positive_epoch(field: &'static str, value: f64) -> Result<(), ValidationError> {
    v::finite(field, value)?;
    if value <= 0.0 {
        return Err(ValidationError::NotPositive { field });
    }
    Ok(())
}

/// One event of a batch: the fields any event may carry, and the body its `type` selects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique within the session; a retried batch is stored once per `(app, session_id, event_id)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Overrides the batch's page view (a soft navigation starts a new one inside one document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_view_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    #[serde(flatten)]
    pub body: EventBody,
}

/// The kinds of event protocol v1 knows. An unknown `type` rejects that item only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    PageView(PageView),
    WebVital(WebVital),
    Navigation(Navigation),
    ApiCall(BrowserApiCall),
    Interaction(Interaction),
    Measure(Measure),
    Error(BrowserError),
    LongTask(LongTask),
    LongAnimationFrame(LongAnimationFrame),
    Resource(Resource),
}

impl Event {
    /// The item rules, given the batch it came in (for the time window).
    pub fn validate(&self, header: &BatchHeader) -> Result<(), ValidationError> {
        v::opt_string("event_id", self.event_id.as_deref(), LIMITS.name_bytes)?;
        v::opt_string(
            "page_view_id",
            self.page_view_id.as_deref(),
            LIMITS.name_bytes,
        )?;
        v::opt_string("url", self.url.as_deref(), LIMITS.url_bytes)?;
        v::opt_string("route", self.route.as_deref(), LIMITS.url_bytes)?;
        match &self.body {
            EventBody::PageView(p) => p.validate()?,
            EventBody::WebVital(w) => w.validate()?,
            EventBody::Navigation(n) => n.validate()?,
            EventBody::ApiCall(c) => c.validate()?,
            EventBody::Interaction(i) => i.validate()?,
            EventBody::Measure(m) => m.validate()?,
            EventBody::Error(e) => e.validate()?,
            EventBody::LongTask(t) => t.validate()?,
            EventBody::LongAnimationFrame(f) => f.validate()?,
            EventBody::Resource(r) => r.validate()?,
        }
        v::item_time(header.time_origin + self.start_time(), header.sent_at)
    }

    /// When the event happened, in ms after `time_origin` (0 for events that describe the whole
    /// page load, such as a web vital).
    pub fn start_time(&self) -> f64 {
        match &self.body {
            EventBody::PageView(p) => p.start_time,
            EventBody::ApiCall(c) => c.start_time,
            EventBody::Interaction(i) => i.start_time,
            EventBody::Measure(m) => m.start_time,
            EventBody::Error(e) => e.start_time,
            EventBody::LongTask(t) => t.start_time,
            EventBody::LongAnimationFrame(f) => f.start_time,
            EventBody::Resource(r) => r.start_time,
            EventBody::WebVital(_) | EventBody::Navigation(_) => 0.0,
        }
    }

    /// The event's `type` on the wire.
    pub fn type_name(&self) -> &'static str {
        match &self.body {
            EventBody::PageView(_) => "page_view",
            EventBody::WebVital(_) => "web_vital",
            EventBody::Navigation(_) => "navigation",
            EventBody::ApiCall(_) => "api_call",
            EventBody::Interaction(_) => "interaction",
            EventBody::Measure(_) => "measure",
            EventBody::Error(_) => "error",
            EventBody::LongTask(_) => "long_task",
            EventBody::LongAnimationFrame(_) => "long_animation_frame",
            EventBody::Resource(_) => "resource",
        }
    }
}

/// How the page view was reached, with web-vitals' names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NavigationType {
    Navigate,
    Reload,
    BackForward,
    BackForwardCache,
    Prerender,
    Restore,
    SoftNavigation,
}

impl NavigationType {
    /// The wire name (`back-forward-cache`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Navigate => "navigate",
            Self::Reload => "reload",
            Self::BackForward => "back-forward",
            Self::BackForwardCache => "back-forward-cache",
            Self::Prerender => "prerender",
            Self::Restore => "restore",
            Self::SoftNavigation => "soft-navigation",
        }
    }
}

/// A page view starts: the first event of every page load and of every soft navigation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub navigation_type: Option<NavigationType>,
    #[serde(default)]
    pub start_time: f64,
}

impl PageView {
    fn validate(&self) -> Result<(), ValidationError> {
        v::duration("start_time", self.start_time)
    }
}

/// A call the page made to an API (`monitorApiCall`), timed in the browser, network included.
/// The called URL is the event's `url` (CONTRACT.md's example), so an `api_call` cannot move
/// its page view to another URL: its page's URL is the batch's (or its page view's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrowserApiCall {
    /// `METHOD /path` or any name the app gives the call.
    pub name: String,
    /// The HTTP method; from `name` when it starts with one, else GET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The status answered; 0 when no answer came (a network error, a blocked request).
    #[serde(default)]
    pub status: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    #[serde(default)]
    pub start_time: f64,
    pub duration: f64,
    /// When the call threw, the JavaScript error's `name` (`TypeError`, `AbortError`, ...).
    #[serde(
        default,
        deserialize_with = "error_type_field",
        skip_serializing_if = "Option::is_none"
    )]
    pub error_type: Option<String>,
    /// The W3C trace id of the `traceparent` header the SDK sent with the call (32 lowercase
    /// hex digits), to find the backend's side of the same call.
    #[serde(
        default,
        deserialize_with = "trace_id_field",
        skip_serializing_if = "Option::is_none"
    )]
    pub trace_id: Option<String>,
}

/// Reads `field`'s value, naming the field when it has the wrong type: serde's own message
/// ("invalid type: integer `42`, expected a string") does not say which field it means.
fn named_field<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    field: &'static str,
    deserializer: D,
) -> Result<T, D::Error> {
    T::deserialize(deserializer).map_err(|e| D::Error::custom(format_args!("`{field}`: {e}")))
}

/// Defines, for each `reader: Type = "field"`, a `deserialize_with` function reading `field`
/// through [`named_field`].
macro_rules! named_fields {
    ($($reader:ident: $type:ty = $field:literal),* $(,)?) => {$(
        fn $reader<'de, D: Deserializer<'de>>(d: D) -> Result<$type, D::Error> {
            named_field($field, d)
        }
    )*};
}

named_fields!(
    error_type_field: Option<String> = "error_type",
    trace_id_field: Option<String> = "trace_id",
    ok_field: Option<bool> = "ok",
    message_field: String = "message",
    kind_field: String = "kind",
    name_field: Option<String> = "name",
    stack_field: Option<String> = "stack",
    component_stack_field: Option<String> = "component_stack",
);

/// An HTTP status as a browser reports it: 0 when it has none (no answer, or one it may not
/// show), else 100–599.
pub(crate) fn http_status(field: &'static str, status: i64) -> Result<(), ValidationError> {
    if status != 0 && !(100..=599).contains(&status) {
        return Err(ValidationError::OutOfRange {
            field,
            value: status as f64,
            min: 100.0,
            max: 599.0,
        });
    }
    Ok(())
}

/// The HTTP methods a browser call may name (`fetch` accepts others, which count as GET).
const HTTP_METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

impl BrowserApiCall {
    fn validate(&self) -> Result<(), ValidationError> {
        timed_work(&self.name, self.start_time, self.duration)?;
        v::opt_string("method", self.method.as_deref(), 16)?;
        if let Some(method) = &self.method {
            if !method.bytes().all(|b| b.is_ascii_alphabetic()) || method.is_empty() {
                return Err(ValidationError::Invalid {
                    field: "method",
                    expected: "an HTTP method such as GET or POST (letters only)",
                });
            }
        }
        http_status("status", self.status)?;
        v::opt_name("error_type", self.error_type.as_deref())?;
        v::opt_trace_id("trace_id", self.trace_id.as_deref())
    }

    /// The method (upper case) and the endpoint the call counts under: `GET /models` gives
    /// (`GET`, `/models`); a name without a method keeps whole, with `method` or GET.
    pub fn method_and_endpoint(&self) -> (String, String) {
        let named = self.name.split_once(' ').filter(|(first, rest)| {
            HTTP_METHODS.contains(&first.to_ascii_uppercase().as_str()) && !rest.trim().is_empty()
        });
        match (named, &self.method) {
            (Some((method, rest)), None) => (method.to_ascii_uppercase(), rest.trim().to_owned()),
            (Some((_, rest)), Some(method)) => {
                (method.to_ascii_uppercase(), rest.trim().to_owned())
            }
            (None, method) => (
                method.as_deref().unwrap_or("GET").to_ascii_uppercase(),
                self.name.clone(),
            ),
        }
    }

    /// Whether the call failed: no answer, an error status, `ok: false`, or it threw (an
    /// `error_type`). Status 0 with `ok: true` is a call that succeeded without an HTTP status
    /// to show (`monitorApiCall` around work that returns no `Response`).
    pub fn failed(&self) -> bool {
        (self.status == 0 && self.ok != Some(true))
            || self.status >= 400
            || self.ok == Some(false)
            || self.error_type.is_some()
    }
}

/// The rules every timed piece of the app's own work shares (an API call, an interaction, a
/// measure): a name shown in statistics, when it started and how long it took.
fn timed_work(name: &str, start_time: f64, duration: f64) -> Result<(), ValidationError> {
    v::required_text("name", name, LIMITS.name_bytes)?;
    v::duration("start_time", start_time)?;
    v::duration("duration", duration)
}

/// A user interaction the app timed (`monitorUserInteraction`): from the user's action to the
/// app's work being done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    pub name: String,
    #[serde(default)]
    pub start_time: f64,
    pub duration: f64,
    /// `false` when the app's handler threw (or its promise rejected); absent means it
    /// completed.
    #[serde(
        default,
        deserialize_with = "ok_field",
        skip_serializing_if = "Option::is_none"
    )]
    pub ok: Option<bool>,
}

impl Interaction {
    fn validate(&self) -> Result<(), ValidationError> {
        timed_work(&self.name, self.start_time, self.duration)
    }

    /// Whether the app's handler threw (`ok: false`).
    pub fn failed(&self) -> bool {
        self.ok == Some(false)
    }
}

/// A piece of the app's own work it timed that no user action started (rendering a chat,
/// parsing an answer), under the app's name for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    pub name: String,
    #[serde(default)]
    pub start_time: f64,
    pub duration: f64,
}

impl Measure {
    fn validate(&self) -> Result<(), ValidationError> {
        timed_work(&self.name, self.start_time, self.duration)
    }
}

/// An error the page reports: one a React error boundary caught while rendering
/// (`kind: "render"`), or one nothing caught (`unhandled`, from `window.onerror`;
/// `unhandledrejection`, a rejected promise nobody awaited). Statistics group errors by
/// `kind`, `name` and `message`.
///
/// The texts are the browser's, bounded: `message` and the stacks may span lines (tab, line
/// feed and carriage return are kept; any other control character refuses the item, naming
/// the field, so the SDK replaces them before sending). A value of the wrong type is refused
/// naming its field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrowserError {
    /// The error's `message`: required, but may be empty (`throw new Error()` has none); at
    /// most [`LIMITS.message_bytes`](crate::Limits::message_bytes).
    #[serde(deserialize_with = "message_field")]
    pub message: String,
    /// How it reached the SDK: [`BrowserError::KNOWN_KINDS`], or any other short name (plain
    /// text, at most 256 B) a newer SDK or the app uses.
    #[serde(deserialize_with = "kind_field")]
    pub kind: String,
    /// The JavaScript error's `name` (`TypeError`, `ChunkLoadError`, ...); absent when what was
    /// thrown is not an `Error`.
    #[serde(
        default,
        deserialize_with = "name_field",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    /// The error's `stack`, as the browser wrote it; at most
    /// [`LIMITS.stack_bytes`](crate::Limits::stack_bytes).
    #[serde(
        default,
        deserialize_with = "stack_field",
        skip_serializing_if = "Option::is_none"
    )]
    pub stack: Option<String>,
    /// React's component stack (`errorInfo.componentStack`) of a render error; at most
    /// [`LIMITS.stack_bytes`](crate::Limits::stack_bytes).
    #[serde(
        default,
        deserialize_with = "component_stack_field",
        skip_serializing_if = "Option::is_none"
    )]
    pub component_stack: Option<String>,
    /// When it was thrown, in ms after `time_origin`.
    #[serde(default)]
    pub start_time: f64,
}

impl BrowserError {
    /// The kinds the SDK and its React bindings send: `render` (caught by an error boundary),
    /// `unhandled` (`window.onerror`), `unhandledrejection` (a rejected promise nobody
    /// handled). Others are accepted; `/metrics` counts them as `other`.
    pub const KNOWN_KINDS: [&'static str; 3] = ["render", "unhandled", "unhandledrejection"];

    /// `kind` when it is one of [`BrowserError::KNOWN_KINDS`]: a label from a fixed set.
    pub fn known_kind(&self) -> Option<&'static str> {
        Self::KNOWN_KINDS
            .into_iter()
            .find(|known| *known == self.kind)
    }

    fn validate(&self) -> Result<(), ValidationError> {
        v::multiline_text("message", &self.message, LIMITS.message_bytes)?;
        v::required_text("kind", &self.kind, LIMITS.name_bytes)?;
        v::opt_name("name", self.name.as_deref())?;
        v::opt_multiline_text("stack", self.stack.as_deref(), LIMITS.stack_bytes)?;
        v::opt_multiline_text(
            "component_stack",
            self.component_stack.as_deref(),
            LIMITS.stack_bytes,
        )?;
        v::duration("start_time", self.start_time)
    }
}

/// The Core Web Vitals and their companions, as web-vitals names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VitalName {
    LCP,
    INP,
    CLS,
    FCP,
    TTFB,
}

impl VitalName {
    /// Every vital, in the order reports list them.
    pub const ALL: [VitalName; 5] = [Self::LCP, Self::INP, Self::CLS, Self::FCP, Self::TTFB];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LCP => "LCP",
            Self::INP => "INP",
            Self::CLS => "CLS",
            Self::FCP => "FCP",
            Self::TTFB => "TTFB",
        }
    }

    /// The vital a wire name stands for; `None` for a name this version does not know (say, a
    /// row written by a newer collector).
    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.as_str() == name)
    }

    /// web-vitals' thresholds: at most the first is good, above the second is poor.
    pub fn thresholds(self) -> (f64, f64) {
        match self {
            Self::LCP => (2500.0, 4000.0),
            Self::INP => (200.0, 500.0),
            Self::CLS => (0.1, 0.25),
            Self::FCP => (1800.0, 3000.0),
            Self::TTFB => (800.0, 1800.0),
        }
    }

    /// The rating web-vitals gives `value`.
    pub fn rate(self, value: f64) -> Rating {
        let (good, poor) = self.thresholds();
        if value > poor {
            Rating::Poor
        } else if value > good {
            Rating::NeedsImprovement
        } else {
            Rating::Good
        }
    }

    /// CLS is a unitless score; the others are milliseconds.
    pub fn is_duration(self) -> bool {
        self != Self::CLS
    }
}

/// web-vitals' rating of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rating {
    Good,
    NeedsImprovement,
    Poor,
}

impl Rating {
    /// The wire name (`needs-improvement`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::NeedsImprovement => "needs-improvement",
            Self::Poor => "poor",
        }
    }
}

/// A web vital report, in web-vitals' shape. A metric reported more than once keeps its `id`
/// and raises `seq`; statistics use the report with the highest `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebVital {
    pub name: VitalName,
    pub value: f64,
    pub delta: f64,
    /// web-vitals' metric id (`v6-<ms>-<random>`), unique per metric instance.
    pub id: String,
    /// Rises with every report of the same `id`, from 1.
    #[serde(default = "first_seq")]
    pub seq: u32,
    pub rating: Rating,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub navigation_type: Option<NavigationType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<serde_json::Map<String, serde_json::Value>>,
}

fn first_seq() -> u32 {
    1
}

impl WebVital {
    fn validate(&self) -> Result<(), ValidationError> {
        if self.name.is_duration() {
            v::duration("value", self.value)?;
        } else {
            v::finite("value", self.value)?;
            if self.value < 0.0 {
                return Err(ValidationError::Negative {
                    field: "value",
                    value: self.value,
                });
            }
        }
        // A delta may be negative: INP can fall as more interactions arrive.
        v::finite("delta", self.delta)?;
        v::required_string("id", &self.id, LIMITS.name_bytes)?;
        if self.seq == 0 {
            return Err(ValidationError::NotPositive { field: "seq" });
        }
        Ok(())
    }
}

/// The navigation timing breakdown of a page load, in ms after `time_origin` (durations for the
/// phases, marks for `dom_*` and `load`), and the document's sizes in bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Navigation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub navigation_type: Option<NavigationType>,
    /// `nextHopProtocol`, e.g. `h2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<f64>,
    /// `responseStart`, as TTFB measures it but without the activationStart correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttfb: Option<f64>,
    /// `responseStart - requestStart`: from sending the request to the first byte of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<f64>,
    /// `responseEnd - responseStart`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dom_interactive: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dom_content_loaded: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dom_complete: Option<f64>,
    /// `loadEventEnd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoded_body_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded_body_size: Option<u64>,
}

impl Navigation {
    /// How much of the page load this report has seen: the number of fields it carries (a
    /// report sent before the load event ended has no `load`). Of two reports for one page
    /// view a store keeps the more complete, whatever order they arrive in, so a report
    /// delivered twice, or late, changes nothing.
    pub fn completeness(&self) -> u8 {
        let timings = [
            self.redirect,
            self.dns,
            self.connect,
            self.tls,
            self.ttfb,
            self.request,
            self.download,
            self.dom_interactive,
            self.dom_content_loaded,
            self.dom_complete,
            self.load,
        ];
        let sizes = [
            self.transfer_size,
            self.encoded_body_size,
            self.decoded_body_size,
        ];
        let present = timings.iter().filter(|t| t.is_some()).count()
            + sizes.iter().filter(|s| s.is_some()).count()
            + usize::from(self.protocol.is_some())
            + usize::from(self.navigation_type.is_some());
        // At most 15 fields.
        u8::try_from(present).unwrap_or(u8::MAX)
    }

    fn validate(&self) -> Result<(), ValidationError> {
        v::opt_string("protocol", self.protocol.as_deref(), LIMITS.name_bytes)?;
        for (field, value) in [
            ("redirect", self.redirect),
            ("dns", self.dns),
            ("connect", self.connect),
            ("tls", self.tls),
            ("ttfb", self.ttfb),
            ("request", self.request),
            ("download", self.download),
            ("dom_interactive", self.dom_interactive),
            ("dom_content_loaded", self.dom_content_loaded),
            ("dom_complete", self.dom_complete),
            ("load", self.load),
        ] {
            v::opt_duration(field, value)?;
        }
        for (field, value) in [
            ("transfer_size", self.transfer_size),
            ("encoded_body_size", self.encoded_body_size),
            ("decoded_body_size", self.decoded_body_size),
        ] {
            v::opt_size(field, value)?;
        }
        Ok(())
    }
}
