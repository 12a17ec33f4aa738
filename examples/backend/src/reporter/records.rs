//! The records the backend sends (CONTRACT.md, "Backend records"), as it writes them.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// The `service` every record names: `event_id`s are unique within it.
pub const SERVICE: &str = "example-backend";

/// One API request the backend answered (`POST /api/v1/monitoring/api-calls`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiCallRecord {
    /// The route pattern (`/api/chat`), never the raw path, so that the collector's groups stay
    /// few.
    pub endpoint: String,
    pub method: String,
    pub status: u16,
    pub duration_ms: f64,
    pub service: &'static str,
    pub event_id: String,
    /// When the request arrived, epoch ms.
    pub timestamp: i64,
    /// The trace id of the browser's `traceparent`, when it sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// One simulated model call (`POST /api/v1/monitoring/ai-calls`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AiCallRecord {
    pub model: String,
    pub provider: String,
    /// `gen_ai.operation.name`.
    pub operation: &'static str,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub duration_ms: f64,
    pub success: bool,
    /// Why the call failed (`null` when it succeeded).
    pub error_type: Option<&'static str>,
    pub service: &'static str,
    pub event_id: String,
    /// When the call started, epoch ms.
    pub timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// A record of either kind, as the buffer holds them.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Api(ApiCallRecord),
    Ai(AiCallRecord),
}

/// What a batch is sent as: `{"calls": [...]}`.
#[derive(Debug, Serialize)]
pub struct Batch<'a, T> {
    pub calls: &'a [T],
}

/// A fresh event id: 128 random bits as 32 hex digits, so a retried batch is stored once.
pub fn new_event_id() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// The wall clock, epoch ms.
pub fn epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfwatch_protocol::{parse_backend_batch, AiCall, ApiCall};

    /// What this crate writes is what the collector's parser accepts, field for field.
    #[test]
    fn records_parse_back_through_the_protocol_crate() {
        let api = ApiCallRecord {
            endpoint: "/api/chat".into(),
            method: "POST".into(),
            status: 503,
            duration_ms: 812.5,
            service: SERVICE,
            event_id: new_event_id(),
            timestamp: epoch_ms(),
            trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
        };
        let body = serde_json::to_vec(&Batch {
            calls: std::slice::from_ref(&api),
        })
        .unwrap();
        let parsed = parse_backend_batch::<ApiCall>(&body, epoch_ms()).unwrap();
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let (_, call, at_ms) = &parsed.accepted[0];
        assert_eq!(
            (call.endpoint.as_str(), call.status, call.duration_ms),
            ("/api/chat", 503, 812.5)
        );
        assert_eq!(call.meta.service(), SERVICE);
        assert_eq!(call.meta.event_id.as_deref(), Some(api.event_id.as_str()));
        assert_eq!(call.meta.trace_id, api.trace_id);
        assert_eq!(*at_ms, api.timestamp);

        let ai = AiCallRecord {
            model: "claude-sonnet-4".into(),
            provider: "anthropic".into(),
            operation: "chat",
            input_tokens: 40,
            output_tokens: 0,
            duration_ms: 230.0,
            success: false,
            error_type: Some("overloaded"),
            service: SERVICE,
            event_id: new_event_id(),
            timestamp: epoch_ms(),
            trace_id: None,
        };
        let body = serde_json::to_vec(&Batch {
            calls: std::slice::from_ref(&ai),
        })
        .unwrap();
        let parsed = parse_backend_batch::<AiCall>(&body, epoch_ms()).unwrap();
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let call = &parsed.accepted[0].1;
        assert_eq!(call.model, "claude-sonnet-4");
        assert_eq!(call.provider.as_deref(), Some("anthropic"));
        assert_eq!((call.input_tokens, call.output_tokens), (40, 0));
        assert!(!call.succeeded());
        assert_eq!(call.error_type.as_deref(), Some("overloaded"));
    }

    #[test]
    fn event_ids_are_distinct_hex() {
        let a = new_event_id();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_event_id());
    }
}
