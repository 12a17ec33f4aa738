//! From a parsed batch to records ready to store: each event's page resolved (an event's own
//! `page_view_id`, `url` and `route` override the batch's) and its time moved to the collector's
//! clock (see [`crate::clock`]).

use perfwatch_protocol::{AiCall, ApiCall, EventBody, ParsedBatch, ParsedCalls};

use crate::pricing::{PriceTable, TokenUsage};

use crate::clock::{to_epoch_ms, ClockSkew};

/// The accepted events of one browser batch, as the store takes them.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowserRecords {
    /// The application's name.
    pub app: String,
    /// The browser session.
    pub session_id: String,
    /// The application's release, if the SDK was told it.
    pub release: Option<String>,
    /// The signed-in user, if the application said who.
    pub user_id: Option<String>,
    /// When the collector received the batch, epoch ms.
    pub received_at_ms: i64,
    /// The accepted events, in batch order.
    pub records: Vec<Record>,
}

/// One accepted event, with its page and time resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Set when the SDK gave the event an id: the store keeps it once per session.
    pub event_id: Option<String>,
    /// The page view the event belongs to.
    pub page_view_id: String,
    /// The page's URL.
    pub url: String,
    /// The page's route pattern (`/chat/:id`), if the application names routes.
    pub route: Option<String>,
    /// When the event happened, epoch ms on the collector's clock.
    pub at_ms: i64,
    /// What happened.
    pub body: EventBody,
}

/// Scrubs `batch` with the SDK's rules ([`crate::scrub`]): each page URL, the names of API
/// calls, interactions and measures, resource URLs, and error messages and stacks. Web vital
/// attribution is kept as sent.
pub fn scrub(batch: &mut BrowserRecords, rules: &crate::scrub::Rules) {
    let limits = &perfwatch_protocol::LIMITS;
    for record in &mut batch.records {
        record.url = rules.page_url(&record.url);
        match &mut record.body {
            EventBody::ApiCall(call) => call.name = rules.name(&call.name),
            EventBody::Interaction(i) => i.name = rules.name(&i.name),
            EventBody::Measure(m) => m.name = rules.name(&m.name),
            // As a URL of the page's own (query, fragment, credentials and secret-looking
            // segments go), not reduced to its origin: the SDK may have been told to keep other
            // origins' URLs (`allowedOrigins`), which the collector cannot know.
            EventBody::Resource(r) => r.name = rules.page_url(&r.name),
            EventBody::Error(e) => {
                e.message = rules.text(&e.message, limits.message_bytes);
                for text in [&mut e.stack, &mut e.component_stack].into_iter().flatten() {
                    *text = rules.text(text, limits.stack_bytes);
                }
            }
            _ => {}
        }
    }
}

/// The records of `batch`, received at `received_at_ms` (collector clock).
pub fn browser_records(batch: ParsedBatch, received_at_ms: f64) -> BrowserRecords {
    let header = batch.header;
    let skew = ClockSkew::new(&header, received_at_ms);
    let records = batch
        .accepted
        .into_iter()
        .map(|(_, event)| Record {
            at_ms: skew.event_epoch_ms(&event),
            event_id: event.event_id,
            page_view_id: event
                .page_view_id
                .unwrap_or_else(|| header.page_view_id.clone()),
            // An `api_call`'s `url` is the URL it called, not its page's.
            url: match (&event.body, event.url) {
                (EventBody::ApiCall(_), _) | (_, None) => header.url.clone(),
                (_, Some(url)) => url,
            },
            route: event.route.or_else(|| header.route.clone()),
            body: event.body,
        })
        .collect();
    BrowserRecords {
        app: header.app,
        session_id: header.session_id,
        release: header.release,
        user_id: header.user_id,
        received_at_ms: to_epoch_ms(received_at_ms),
        records,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfwatch_protocol::parse_browser_batch;
    use serde_json::json;

    #[test]
    fn events_override_the_page_and_move_by_the_clock_skew() {
        // The client's clock is 10 s behind: it says it sent at 1_000_000 when it was 1_010_000.
        let body = json!({
            "v": 1, "app": "a", "session_id": "s", "page_view_id": "p1",
            "url": "https://x/a", "route": "/a",
            "time_origin": 990_000.0, "sent_at": 1_000_000.0,
            "events": [
                {"type": "page_view", "start_time": 500.0},
                {"type": "page_view", "start_time": 2000.0, "page_view_id": "p2",
                 "url": "https://x/b", "route": "/b", "event_id": "e2"}
            ]
        });
        let parsed = parse_browser_batch(body.to_string().as_bytes()).unwrap();
        let out = browser_records(parsed, 1_010_000.0);
        assert_eq!(out.received_at_ms, 1_010_000);
        let [first, second] = &out.records[..] else {
            panic!("{:?}", out.records)
        };
        assert_eq!(
            (first.page_view_id.as_str(), first.route.as_deref()),
            ("p1", Some("/a"))
        );
        assert_eq!(first.at_ms, 990_000 + 500 + 10_000);
        assert_eq!(
            (second.page_view_id.as_str(), second.url.as_str()),
            ("p2", "https://x/b")
        );
        assert_eq!(second.event_id.as_deref(), Some("e2"));
        assert_eq!(second.at_ms, 990_000 + 2000 + 10_000);
    }

    /// The timings of a batch of `events` sent when the collector received it, by a page
    /// loaded 10 s before.
    fn timings_of(events: serde_json::Value) -> Vec<TimingRecord> {
        let body = json!({
            "v": 1, "app": "a", "session_id": "s", "page_view_id": "p1", "url": "https://x/a",
            "time_origin": 990_000.0, "sent_at": 1_000_000.0, "events": events
        });
        let parsed = parse_browser_batch(body.to_string().as_bytes()).unwrap();
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        browser_timings(&browser_records(parsed, 1_000_000.0))
    }

    #[test]
    fn entries_become_timings_with_their_urls_cut_at_the_query() {
        let timings = timings_of(json!([
            {"type": "long_task", "start_time": 10, "duration": 120, "event_id": "t1"},
            {"type": "long_task", "duration": 60, "name": "cross-origin-descendant",
             "container": "https://ads.example/f.html?id=1"},
            {"type": "long_animation_frame", "duration": 180, "blocking_duration": 90,
             "script_url": "https://x/main.js#L1", "script_invoker": "BUTTON.onclick",
             "script_duration": 70},
            {"type": "long_animation_frame", "duration": 60, "blocking_duration": 0},
            {"type": "resource", "name": "https://cdn.example/a.png?v=3#top",
             "initiator_type": "img", "duration": 40, "transfer_size": 1200,
             "response_status": 404},
            {"type": "resource", "name": "https://cdn.example/b.js", "initiator_type": "script",
             "duration": 5, "response_status": 0},
            {"type": "page_view", "start_time": 0}
        ]));
        let kinds: Vec<&str> = timings.iter().map(|t| t.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "long_task",
                "long_task",
                "long_animation_frame",
                "long_animation_frame",
                "resource",
                "resource"
            ]
        );
        let [task, framed_task, frame, bare_frame, image, script] = &timings[..] else {
            panic!("{timings:?}");
        };
        assert_eq!(
            (task.name.as_str(), task.detail.as_deref()),
            ("unknown", None)
        );
        assert_eq!(task.event_id.as_deref(), Some("t1"));
        assert_eq!(
            framed_task.detail.as_deref(),
            Some("https://ads.example/f.html")
        );
        assert_eq!(frame.name, "https://x/main.js");
        assert_eq!(frame.detail.as_deref(), Some("BUTTON.onclick"));
        assert_eq!(
            (frame.blocking_ms, frame.script_ms),
            (Some(90.0), Some(70.0))
        );
        assert_eq!((bare_frame.name.as_str(), bare_frame.script_ms), ("", None));
        assert_eq!(image.name, "https://cdn.example/a.png");
        assert_eq!(image.detail.as_deref(), Some("img"));
        assert_eq!((image.status, image.failed), (Some(404), true));
        assert_eq!(image.transfer_size, Some(1200));
        assert_eq!((script.status, script.failed), (Some(0), false));
        assert!(!task.failed && !frame.failed);
    }

    #[test]
    fn the_apps_own_work_keeps_its_error_type_trace_id_and_outcome() {
        let timings = timings_of(json!([
            {"type": "api_call", "name": "POST /chat", "status": 0, "duration": 7,
             "error_type": "TypeError", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"},
            {"type": "api_call", "name": "GET /models", "status": 200, "duration": 80},
            {"type": "interaction", "name": "send", "duration": 3, "ok": false},
            {"type": "interaction", "name": "open-chat", "duration": 41, "ok": true},
            {"type": "measure", "name": "chat-render", "start_time": 10, "duration": 12.5,
             "event_id": "m1"}
        ]));
        let [threw, answered, failed_interaction, interaction, measure] = &timings[..] else {
            panic!("{timings:?}");
        };
        assert_eq!(threw.detail.as_deref(), Some("TypeError"));
        assert_eq!(
            threw.trace_id.as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert!(threw.failed);
        assert_eq!(
            (answered.detail.as_deref(), answered.trace_id.as_deref()),
            (None, None)
        );
        assert!(!answered.failed);
        assert_eq!(failed_interaction.kind, TimingKind::Interaction);
        assert!(failed_interaction.failed && !interaction.failed);
        assert_eq!(measure.kind, TimingKind::Measure);
        assert_eq!(
            (measure.name.as_str(), measure.duration_ms, measure.failed),
            ("chat-render", 12.5, false)
        );
        assert_eq!(measure.event_id.as_deref(), Some("m1"));
        assert_eq!(measure.at_ms, 990_000 + 10);
    }

    #[test]
    fn errors_become_records_with_their_page_release_and_time() {
        let body = json!({
            "v": 1, "app": "a", "release": "1.4.2", "session_id": "s", "page_view_id": "p1",
            "user_id": "u", "url": "https://x/a", "route": "/a",
            "time_origin": 990_000.0, "sent_at": 1_000_000.0,
            "events": [
                {"type": "long_task", "duration": 60},
                {"type": "error", "kind": "render", "name": "TypeError", "message": "x\ny",
                 "stack": "TypeError: x\n    at A", "component_stack": "\n    in A",
                 "start_time": 10, "event_id": "e1"},
                {"type": "error", "kind": "unhandledrejection", "message": "",
                 "page_view_id": "p2", "url": "https://x/b", "route": "/b"}
            ]
        });
        let parsed = parse_browser_batch(body.to_string().as_bytes()).unwrap();
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let records = browser_records(parsed, 1_000_000.0);
        assert_eq!(browser_timings(&records).len(), 1, "errors are not timings");
        let errors = browser_errors(&records);
        let [render, rejection] = &errors[..] else {
            panic!("{errors:?}");
        };
        assert_eq!(
            render,
            &ErrorRecord {
                app: "a".into(),
                session_id: "s".into(),
                event_id: Some("e1".into()),
                page_view_id: "p1".into(),
                url: "https://x/a".into(),
                route: Some("/a".into()),
                release: Some("1.4.2".into()),
                user_id: Some("u".into()),
                kind: "render".into(),
                name: Some("TypeError".into()),
                message: "x\ny".into(),
                stack: Some("TypeError: x\n    at A".into()),
                component_stack: Some("\n    in A".into()),
                at_ms: 990_000 + 10,
                received_at_ms: 1_000_000,
            }
        );
        assert_eq!(
            (
                rejection.page_view_id.as_str(),
                rejection.url.as_str(),
                rejection.route.as_deref()
            ),
            ("p2", "https://x/b", Some("/b")),
            "the event's own page"
        );
        assert_eq!(
            (rejection.name.as_ref(), rejection.stack.as_ref()),
            (None, None)
        );
    }

    #[test]
    fn without_query_keeps_the_origin_and_path() {
        assert_eq!(
            without_query("https://x.example/a.js?v=1#f"),
            "https://x.example/a.js"
        );
        assert_eq!(
            without_query("https://x.example/a#?"),
            "https://x.example/a"
        );
        assert_eq!(without_query("/a"), "/a");
        assert_eq!(without_query("?only"), "");
    }
}

/// What the writer stores in one go: a browser batch (its timings included, written in the
/// same transaction), timings alone, or a backend's records.
#[derive(Debug, Clone, PartialEq)]
pub enum Batch {
    Browser(BrowserRecords),
    Timings(Vec<TimingRecord>),
    ApiCalls(Vec<ApiCallRecord>),
    AiCalls(Vec<AiCallRecord>),
}

impl Batch {
    /// How many records the batch holds.
    pub fn len(&self) -> usize {
        match self {
            Self::Browser(browser) => browser.records.len(),
            Self::Timings(timings) => timings.len(),
            Self::ApiCalls(calls) => calls.len(),
            Self::AiCalls(calls) => calls.len(),
        }
    }

    /// True when the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<BrowserRecords> for Batch {
    fn from(records: BrowserRecords) -> Self {
        Self::Browser(records)
    }
}

/// What a browser timed: one of its API calls (`monitorApiCall`), a user interaction
/// (`monitorUserInteraction`), a piece of the app's own work (a `measure`), or a performance
/// timeline entry it observed (a long task, a long animation frame, a resource load).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimingKind {
    ApiCall,
    Interaction,
    Measure,
    LongTask,
    LongAnimationFrame,
    Resource,
}

impl TimingKind {
    /// Every kind.
    pub const ALL: [TimingKind; 6] = [
        Self::ApiCall,
        Self::Interaction,
        Self::Measure,
        Self::LongTask,
        Self::LongAnimationFrame,
        Self::Resource,
    ];

    /// The name stored in the `kind` column (the event's `type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiCall => "api_call",
            Self::Interaction => "interaction",
            Self::Measure => "measure",
            Self::LongTask => "long_task",
            Self::LongAnimationFrame => "long_animation_frame",
            Self::Resource => "resource",
        }
    }

    /// The kind named `name` (`None` for one a newer collector wrote).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// A browser's timing, as the store takes it (one row of `browser_timings`): stored once per
/// `(app, session_id, event_id)` when it has an `event_id`. Kept apart from backend API
/// calls: the same call seen from both sides would otherwise count twice.
///
/// What the shared columns hold depends on the kind:
///
/// | kind | `name` | `detail` | `status` | other |
/// |---|---|---|---|---|
/// | `api_call` | `METHOD endpoint` | its `error_type` (the call threw) | its status | `trace_id` |
/// | `interaction` | its name | | | |
/// | `measure` | its name | | | |
/// | `long_task` | the entry's name (`self`, ...; `unknown` when not sent) | its container | | |
/// | `long_animation_frame` | the longest script's URL (empty: none named) | that script's invoker | | `blocking_ms`, `script_ms` |
/// | `resource` | its URL | its initiator type | its response status | `transfer_size` |
///
/// URLs are kept without query string or fragment ([`without_query`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TimingRecord {
    pub kind: TimingKind,
    pub app: String,
    pub session_id: String,
    pub event_id: Option<String>,
    pub page_view_id: String,
    /// What the statistics list it by (see the table above).
    pub name: String,
    /// A resource's initiator type, a long animation frame's script invoker, a long task's
    /// container, an API call's error type.
    pub detail: Option<String>,
    /// The call's or resource's status (0: none); `None` for other kinds.
    pub status: Option<u16>,
    /// The call failed (no answer, 4xx or 5xx, `ok: false`, or it threw), the interaction's
    /// handler threw (`ok: false`), or the resource was answered 4xx or 5xx; never for other
    /// kinds.
    pub failed: bool,
    pub duration_ms: f64,
    /// A long animation frame's blocking duration.
    pub blocking_ms: Option<f64>,
    /// A long animation frame's longest script's duration.
    pub script_ms: Option<f64>,
    /// A resource's transfer size, bytes.
    pub transfer_size: Option<u64>,
    /// An API call's W3C trace id (32 lowercase hex digits), as its `traceparent` carried it.
    pub trace_id: Option<String>,
    pub user_id: Option<String>,
    pub at_ms: i64,
    pub received_at_ms: i64,
}

/// `url` without its query string and fragment: the SDK scrubs them already, but a URL kept
/// whole would make every request its own group (and may carry what must not be stored).
pub fn without_query(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or_default().to_owned()
}

/// The timings among `batch`'s records, as their own records.
pub fn browser_timings(batch: &BrowserRecords) -> Vec<TimingRecord> {
    batch
        .records
        .iter()
        .filter_map(|record| timing(batch, record))
        .collect()
}

/// The timing `record` of `batch` holds, if it is one.
fn timing(batch: &BrowserRecords, record: &Record) -> Option<TimingRecord> {
    // The columns every kind fills; the others are set below, by kind.
    let plain = |kind, name, duration_ms| TimingRecord {
        kind,
        app: batch.app.clone(),
        session_id: batch.session_id.clone(),
        event_id: record.event_id.clone(),
        page_view_id: record.page_view_id.clone(),
        name,
        detail: None,
        status: None,
        failed: false,
        duration_ms,
        blocking_ms: None,
        script_ms: None,
        transfer_size: None,
        trace_id: None,
        user_id: batch.user_id.clone(),
        at_ms: record.at_ms,
        received_at_ms: batch.received_at_ms,
    };
    Some(match &record.body {
        EventBody::ApiCall(call) => {
            let (method, endpoint) = call.method_and_endpoint();
            TimingRecord {
                detail: call.error_type.clone(),
                // Validated: 0 or 100..=599.
                status: Some(u16::try_from(call.status).unwrap_or_default()),
                failed: call.failed(),
                trace_id: call.trace_id.clone(),
                ..plain(
                    TimingKind::ApiCall,
                    format!("{method} {endpoint}"),
                    call.duration,
                )
            }
        }
        EventBody::Interaction(interaction) => TimingRecord {
            failed: interaction.failed(),
            ..plain(
                TimingKind::Interaction,
                interaction.name.clone(),
                interaction.duration,
            )
        },
        EventBody::Measure(measure) => {
            plain(TimingKind::Measure, measure.name.clone(), measure.duration)
        }
        EventBody::LongTask(task) => TimingRecord {
            detail: task.container.as_deref().map(without_query),
            ..plain(
                TimingKind::LongTask,
                task.name.clone().unwrap_or_else(|| "unknown".to_owned()),
                task.duration,
            )
        },
        EventBody::LongAnimationFrame(frame) => TimingRecord {
            detail: frame.script_invoker.clone(),
            blocking_ms: Some(frame.blocking_duration),
            script_ms: frame.script_duration,
            ..plain(
                TimingKind::LongAnimationFrame,
                frame
                    .script_url
                    .as_deref()
                    .map(without_query)
                    .unwrap_or_default(),
                frame.duration,
            )
        },
        EventBody::Resource(resource) => {
            // Validated: 0 or 100..=599.
            let status = resource
                .response_status
                .map(|status| u16::try_from(status).unwrap_or_default());
            TimingRecord {
                detail: Some(resource.initiator_type.clone()),
                status,
                // 0 says nothing: a cross-origin answer the page may not read, or none.
                failed: status.is_some_and(|status| status >= 400),
                transfer_size: resource.transfer_size,
                ..plain(
                    TimingKind::Resource,
                    without_query(&resource.name),
                    resource.duration,
                )
            }
        }
        EventBody::PageView(_)
        | EventBody::WebVital(_)
        | EventBody::Navigation(_)
        | EventBody::Error(_) => return None,
    })
}

/// An error a page reported, as the store takes it (one row of `browser_errors`): stored once
/// per `(app, session_id, event_id)` when it has an `event_id`, with the page and user it
/// happened to. The texts are kept as sent (the protocol bounds them).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRecord {
    pub app: String,
    pub session_id: String,
    pub event_id: Option<String>,
    pub page_view_id: String,
    /// The page's URL (as `page_views` keeps it).
    pub url: String,
    pub route: Option<String>,
    /// The application's release, to find the source maps the stack needs.
    pub release: Option<String>,
    pub user_id: Option<String>,
    /// `render`, `unhandled`, `unhandledrejection`, or another short name.
    pub kind: String,
    /// The JavaScript error's name (`TypeError`, ...).
    pub name: Option<String>,
    pub message: String,
    pub stack: Option<String>,
    /// React's component stack.
    pub component_stack: Option<String>,
    /// When it was thrown, epoch ms on the collector's clock.
    pub at_ms: i64,
    pub received_at_ms: i64,
}

/// The errors among `batch`'s records, as their own records.
pub fn browser_errors(batch: &BrowserRecords) -> Vec<ErrorRecord> {
    batch
        .records
        .iter()
        .filter_map(|record| match &record.body {
            EventBody::Error(error) => Some(ErrorRecord {
                app: batch.app.clone(),
                session_id: batch.session_id.clone(),
                event_id: record.event_id.clone(),
                page_view_id: record.page_view_id.clone(),
                url: record.url.clone(),
                route: record.route.clone(),
                release: batch.release.clone(),
                user_id: batch.user_id.clone(),
                kind: error.kind.clone(),
                name: error.name.clone(),
                message: error.message.clone(),
                stack: error.stack.clone(),
                component_stack: error.component_stack.clone(),
                at_ms: record.at_ms,
                received_at_ms: batch.received_at_ms,
            }),
            _ => None,
        })
        .collect()
}

/// An accepted API call record, as the store takes it. Stored once per `(service, event_id)`
/// when it has an `event_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCallRecord {
    pub service: String,
    pub event_id: Option<String>,
    pub endpoint: String,
    /// Upper case.
    pub method: String,
    pub status: u16,
    pub duration_ms: f64,
    pub user_id: Option<String>,
    pub trace_id: Option<String>,
    /// When the call happened, epoch ms.
    pub at_ms: i64,
    pub received_at_ms: i64,
}

/// An accepted AI call record, as the store takes it: the sender's cost and the collector's
/// (from [`crate::pricing`]; `None` for a model the price table does not know) kept side by
/// side. Stored once per `(service, event_id)` when it has an `event_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct AiCallRecord {
    pub service: String,
    pub event_id: Option<String>,
    pub model: String,
    pub provider: Option<String>,
    pub operation: Option<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_input_tokens: i64,
    pub cache_write_tokens: i64,
    pub reasoning_tokens: i64,
    pub duration_ms: f64,
    pub success: bool,
    pub error_type: Option<String>,
    pub user_id: Option<String>,
    pub trace_id: Option<String>,
    /// The cost the sender gave, USD.
    pub sent_cost_usd: Option<f64>,
    /// The cost from the collector's price table, USD.
    pub computed_cost_usd: Option<f64>,
    pub at_ms: i64,
    pub received_at_ms: i64,
}

/// The records of an API call batch received at `received_at_ms`.
pub fn api_call_records(calls: ParsedCalls<ApiCall>, received_at_ms: i64) -> Vec<ApiCallRecord> {
    calls
        .accepted
        .into_iter()
        .map(|(_, call, at_ms)| ApiCallRecord {
            service: call.meta.service().to_owned(),
            event_id: call.meta.event_id,
            endpoint: call.endpoint,
            method: call.method.to_ascii_uppercase(),
            // Validated: 100..=599.
            status: u16::try_from(call.status).unwrap_or_default(),
            duration_ms: call.duration_ms,
            user_id: call.meta.user_id,
            trace_id: call.meta.trace_id,
            at_ms,
            received_at_ms,
        })
        .collect()
}

/// The records of an AI call batch received at `received_at_ms`, each priced by `prices` at the
/// price of its day.
pub fn ai_call_records(
    calls: ParsedCalls<AiCall>,
    received_at_ms: i64,
    prices: &PriceTable,
) -> Vec<AiCallRecord> {
    calls
        .accepted
        .into_iter()
        .map(|(_, call, at_ms)| {
            let success = call.succeeded();
            // Validated: each count is between 0 and MAX_TOKENS.
            let count = |n: i64| u64::try_from(n).unwrap_or_default();
            let usage = TokenUsage {
                input_tokens: count(call.input_tokens),
                output_tokens: count(call.output_tokens),
                cached_input_tokens: count(call.cached_input_tokens),
                cache_write_tokens: count(call.cache_write_tokens),
                reasoning_tokens: count(call.reasoning_tokens),
            };
            let computed = prices
                .cost(call.provider.as_deref(), &call.model, &usage, at_ms)
                .map(|priced| priced.cost_usd);
            AiCallRecord {
                service: call.meta.service().to_owned(),
                event_id: call.meta.event_id,
                model: call.model,
                provider: call.provider,
                operation: call.operation,
                input_tokens: call.input_tokens,
                output_tokens: call.output_tokens,
                cached_input_tokens: call.cached_input_tokens,
                cache_write_tokens: call.cache_write_tokens,
                reasoning_tokens: call.reasoning_tokens,
                duration_ms: call.duration_ms,
                success,
                error_type: call.error_type,
                user_id: call.meta.user_id,
                trace_id: call.meta.trace_id,
                sent_cost_usd: call.cost_usd,
                computed_cost_usd: computed,
                at_ms,
                received_at_ms,
            }
        })
        .collect()
}
