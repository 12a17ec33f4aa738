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
}

/// What the writer stores in one go: a browser batch (its timings of its own API calls and
/// interactions included, written in the same transaction), timings alone, or a backend's
/// records.
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

/// What a browser timed: one of its API calls (`monitorApiCall`) or a user interaction
/// (`monitorUserInteraction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimingKind {
    ApiCall,
    Interaction,
}

impl TimingKind {
    /// The name stored in the `kind` column (the event's `type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiCall => "api_call",
            Self::Interaction => "interaction",
        }
    }

    /// The kind named `name` (`None` for one a newer collector wrote).
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::ApiCall, Self::Interaction]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// A browser's timing of its own API call or interaction, as the store takes it: stored once
/// per `(app, session_id, event_id)` when it has an `event_id`. Kept apart from backend API
/// calls: the same call seen from both sides would otherwise count twice.
#[derive(Debug, Clone, PartialEq)]
pub struct TimingRecord {
    pub kind: TimingKind,
    pub app: String,
    pub session_id: String,
    pub event_id: Option<String>,
    pub page_view_id: String,
    /// The interaction's name, or the call's `METHOD endpoint`.
    pub name: String,
    /// The call's status (0: no answer); `None` for an interaction.
    pub status: Option<u16>,
    /// The call failed (no answer, 4xx or 5xx, or `ok: false`); never for an interaction.
    pub failed: bool,
    pub duration_ms: f64,
    pub user_id: Option<String>,
    pub at_ms: i64,
    pub received_at_ms: i64,
}

/// The timings among `batch`'s records, as their own records.
pub fn browser_timings(batch: &BrowserRecords) -> Vec<TimingRecord> {
    batch
        .records
        .iter()
        .filter_map(|record| {
            let (kind, name, status, failed, duration_ms) = match &record.body {
                EventBody::ApiCall(call) => {
                    let (method, endpoint) = call.method_and_endpoint();
                    // Validated: 0 or 100..=599.
                    let status = u16::try_from(call.status).unwrap_or_default();
                    (
                        TimingKind::ApiCall,
                        format!("{method} {endpoint}"),
                        Some(status),
                        call.failed(),
                        call.duration,
                    )
                }
                EventBody::Interaction(interaction) => (
                    TimingKind::Interaction,
                    interaction.name.clone(),
                    None,
                    false,
                    interaction.duration,
                ),
                _ => return None,
            };
            Some(TimingRecord {
                kind,
                app: batch.app.clone(),
                session_id: batch.session_id.clone(),
                event_id: record.event_id.clone(),
                page_view_id: record.page_view_id.clone(),
                name,
                status,
                failed,
                duration_ms,
                user_id: batch.user_id.clone(),
                at_ms: record.at_ms,
                received_at_ms: batch.received_at_ms,
            })
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
