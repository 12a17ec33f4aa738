//! What the OTLP targets share: the endpoint's mapping and its accounting.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use perfwatch_collector::normalize;
use perfwatch_collector::otlp::{self, ExportTraceServiceRequest};
use perfwatch_collector::pricing::PriceTable;

/// When the collector received the request, epoch ms.
const RECEIVED_MS: i64 = 1_795_676_400_000;

/// The items of a browser batch (`events`), read without decoding them, as the parser reads
/// them: serde_json skips an escaped lone surrogate or a number out of f64's range where it
/// does not decode a value, so a `serde_json::Value` of a body the parser took may fail.
#[derive(serde::Deserialize)]
struct Events<'a> {
    #[serde(borrow)]
    events: Vec<&'a serde_json::value::RawValue>,
}

/// The records of a backend batch (`calls`), read as [`Events`].
#[derive(serde::Deserialize)]
struct Calls<'a> {
    #[serde(borrow)]
    calls: Vec<&'a serde_json::value::RawValue>,
}

/// The number of items in `events` (`key` "events") or `calls` of a body a parser took.
pub fn item_count(data: &[u8], key: &str) -> usize {
    let text = std::str::from_utf8(data).unwrap_or_default();
    let count = if key == "events" {
        serde_json::from_str::<Events<'_>>(text).map(|b| b.events.len())
    } else {
        serde_json::from_str::<Calls<'_>>(text).map(|b| b.calls.len())
    };
    count.unwrap_or(usize::MAX)
}

/// The built-in price table, read once.
pub fn prices() -> &'static PriceTable {
    static PRICES: OnceLock<PriceTable> = OnceLock::new();
    PRICES.get_or_init(PriceTable::builtin)
}

/// Maps `request` as `POST /v1/traces` does and checks that every span is recorded (taken as
/// an AI call, an API call or both), ignored or refused, exactly once.
pub fn map_and_account(request: &ExportTraceServiceRequest) {
    let spans: usize = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    let found = otlp::records(request, RECEIVED_MS);
    assert_eq!(found.spans, spans);
    let taken: BTreeSet<usize> = found
        .ai_calls
        .accepted
        .iter()
        .map(|(i, _, _)| *i)
        .chain(found.api_calls.accepted.iter().map(|(i, _, _)| *i))
        .collect();
    assert_eq!(taken.len() + found.ignored + found.refused.len(), spans);
    if !found.refused.is_empty() {
        let _ = found.refusal_message();
    }
    let _ = normalize::api_call_records(found.api_calls, RECEIVED_MS);
    let _ = normalize::ai_call_records(found.ai_calls, RECEIVED_MS, prices());
}
