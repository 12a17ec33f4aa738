//! Backend records of protocol v1 (CONTRACT.md, "Backend records"): API calls and AI model calls,
//! sent by services as `{"calls": [...]}` to `POST /api/v1/monitoring/api-calls` and
//! `POST /api/v1/monitoring/ai-calls`.
//!
//! The envelope is checked whole (not an object: 400; no `calls` array, or too many: 422);
//! inside it every record is parsed and validated on its own, so one bad record never loses the
//! good ones. A record is dated by its `timestamp` (RFC 3339 or epoch ms) or, without one, by
//! when the collector received it; `event_id` (unique per `service`) makes a retried batch
//! count once. Unknown fields are ignored.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::limits::LIMITS;
use crate::parse::{json_object_text, without_position, BatchError, ItemRejection, SCHEMA_CODE};
use crate::validate::{self as v, ValidationError};

/// The service a record belongs to when it names none.
pub const DEFAULT_SERVICE: &str = "default";

/// Most tokens one call may report in a field: far beyond any model's context, and exact in
/// every store.
pub const MAX_TOKENS: i64 = 1 << 40;

/// Largest cost one call may report, in USD.
pub const MAX_COST_USD: f64 = 1_000_000.0;

/// A record's time as sent: epoch milliseconds, or an RFC 3339 text.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Timestamp {
    EpochMs(f64),
    Text(String),
}

/// Fields every backend record may carry.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct RecordMeta {
    /// The sending service ([`DEFAULT_SERVICE`] when absent).
    #[serde(default)]
    pub service: Option<String>,
    /// Unique per service: a record delivered again with the same id is stored once.
    #[serde(default)]
    pub event_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub trace_id: Option<String>,
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
}

/// One call a backend served.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiCall {
    /// The route or path template (`/api/v1/chat`, `/users/:id`).
    pub endpoint: String,
    /// The HTTP method, upper case once parsed.
    pub method: String,
    /// The HTTP status code answered (100–599). (Read as any integer, so that a wrong one is
    /// refused by name.)
    pub status: i64,
    pub duration_ms: f64,
    #[serde(flatten)]
    pub meta: RecordMeta,
}

/// One call to an AI model. `input_tokens` includes cached and cache-write tokens and
/// `output_tokens` includes reasoning tokens (the OpenTelemetry GenAI convention). Token counts
/// are read as any integer, so that a negative one is refused by name; once validated they are
/// between 0 and [`MAX_TOKENS`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AiCall {
    pub model: String,
    #[serde(default)]
    pub provider: Option<String>,
    /// What was asked of the model (`chat`, `embeddings`, ...: `gen_ai.operation.name`).
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default)]
    pub input_tokens: i64,
    #[serde(default)]
    pub output_tokens: i64,
    #[serde(default)]
    pub cached_input_tokens: i64,
    #[serde(default)]
    pub cache_write_tokens: i64,
    #[serde(default)]
    pub reasoning_tokens: i64,
    pub duration_ms: f64,
    /// Whether the call succeeded; when absent, true unless `error_type` is given.
    #[serde(default)]
    pub success: Option<bool>,
    #[serde(default)]
    pub error_type: Option<String>,
    /// The cost the sender computed, if any; the collector keeps it beside its own.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    #[serde(flatten)]
    pub meta: RecordMeta,
}

impl AiCall {
    /// [`AiCall::success`] with its default.
    pub fn succeeded(&self) -> bool {
        self.success.unwrap_or(self.error_type.is_none())
    }
}

/// A backend record type: its own rules, and the fields every record has.
pub trait BackendRecord: DeserializeOwned {
    /// The record's own rules (those of [`RecordMeta`] are checked for every record).
    fn validate(&self) -> Result<(), ValidationError>;
    fn meta(&self) -> &RecordMeta;
}

impl BackendRecord for ApiCall {
    fn validate(&self) -> Result<(), ValidationError> {
        v::required_text("endpoint", &self.endpoint, LIMITS.url_bytes)?;
        v::required_text("method", &self.method, 16)?;
        if !self.method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ValidationError::Invalid {
                field: "method",
                expected: "an HTTP method such as GET or POST (letters only)",
            });
        }
        if !(100..=599).contains(&self.status) {
            return Err(ValidationError::OutOfRange {
                field: "status",
                value: self.status as f64,
                min: 100.0,
                max: 599.0,
            });
        }
        v::duration("duration_ms", self.duration_ms)
    }

    fn meta(&self) -> &RecordMeta {
        &self.meta
    }
}

impl BackendRecord for AiCall {
    fn validate(&self) -> Result<(), ValidationError> {
        v::required_text("model", &self.model, LIMITS.name_bytes)?;
        v::opt_name("provider", self.provider.as_deref())?;
        v::opt_name("operation", self.operation.as_deref())?;
        v::opt_name("error_type", self.error_type.as_deref())?;
        for (field, value) in [
            ("input_tokens", self.input_tokens),
            ("output_tokens", self.output_tokens),
            ("cached_input_tokens", self.cached_input_tokens),
            ("cache_write_tokens", self.cache_write_tokens),
            ("reasoning_tokens", self.reasoning_tokens),
        ] {
            if !(0..=MAX_TOKENS).contains(&value) {
                return Err(ValidationError::OutOfRange {
                    field,
                    value: value as f64,
                    min: 0.0,
                    max: MAX_TOKENS as f64,
                });
            }
        }
        if self.cached_input_tokens + self.cache_write_tokens > self.input_tokens {
            return Err(ValidationError::Inconsistent {
                rule: "`input_tokens` includes `cached_input_tokens` and `cache_write_tokens`, \
                       so it cannot be smaller than their sum",
            });
        }
        if self.reasoning_tokens > self.output_tokens {
            return Err(ValidationError::Inconsistent {
                rule: "`output_tokens` includes `reasoning_tokens`, so it cannot be smaller",
            });
        }
        v::duration("duration_ms", self.duration_ms)?;
        if let Some(cost) = self.cost_usd {
            v::finite("cost_usd", cost)?;
            if !(0.0..=MAX_COST_USD).contains(&cost) {
                return Err(ValidationError::OutOfRange {
                    field: "cost_usd",
                    value: cost,
                    min: 0.0,
                    max: MAX_COST_USD,
                });
            }
        }
        Ok(())
    }

    fn meta(&self) -> &RecordMeta {
        &self.meta
    }
}

impl RecordMeta {
    fn validate(&self) -> Result<(), ValidationError> {
        v::opt_name("service", self.service.as_deref())?;
        v::opt_name("event_id", self.event_id.as_deref())?;
        v::opt_name("user_id", self.user_id.as_deref())?;
        v::opt_name("trace_id", self.trace_id.as_deref())
    }

    /// The record's time in epoch ms: its `timestamp`, or `received_at_ms` without one. It may
    /// be at most [`LIMITS.max_age_ms`] before and [`LIMITS.max_ahead_ms`] after
    /// `received_at_ms` (backends' clocks are trusted, not corrected).
    pub fn at_ms(&self, received_at_ms: i64) -> Result<i64, ValidationError> {
        let at_ms = match &self.timestamp {
            None => return Ok(received_at_ms),
            Some(Timestamp::EpochMs(ms)) => {
                v::finite("timestamp", *ms)?;
                ms.round()
            }
            Some(Timestamp::Text(text)) => chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|_| ValidationError::Invalid {
                    field: "timestamp",
                    expected: "RFC 3339 (2026-11-26T07:00:00Z, offsets allowed) or epoch ms",
                })?
                .timestamp_millis() as f64,
        };
        v::item_time(at_ms, received_at_ms as f64)?;
        Ok(at_ms as i64)
    }

    /// The service, [`DEFAULT_SERVICE`] when absent.
    pub fn service(&self) -> &str {
        self.service.as_deref().unwrap_or(DEFAULT_SERVICE)
    }
}

/// A backend batch whose envelope is sound: the records that passed, with their index in
/// `calls` and their time (epoch ms), and why the others failed.
#[derive(Debug, Clone)]
pub struct ParsedCalls<T> {
    pub accepted: Vec<(usize, T, i64)>,
    pub rejected: Vec<ItemRejection>,
}

#[derive(Deserialize)]
struct CallsOnly<'a> {
    #[serde(borrow)]
    calls: Vec<&'a RawValue>,
}

/// Checks one record received at `received_at_ms` by every rule a record of a batch is
/// checked by (those of [`RecordMeta`], the record's own, its time), and gives its time in
/// epoch ms. For records built by the collector from another format (OTLP spans).
pub fn check_record<T: BackendRecord>(
    record: &T,
    received_at_ms: i64,
) -> Result<i64, ValidationError> {
    record.meta().validate()?;
    record.validate()?;
    record.meta().at_ms(received_at_ms)
}

/// Parses and validates a backend batch `{"calls": [...]}` received at `received_at_ms`. The
/// caller has already bounded the body's size.
pub fn parse_backend_batch<T: BackendRecord>(
    body: &[u8],
    received_at_ms: i64,
) -> Result<ParsedCalls<T>, BatchError> {
    let text = json_object_text(body)?;
    let calls = serde_json::from_str::<CallsOnly<'_>>(text)
        .map_err(|e| match without_position(&e) {
            missing if missing.starts_with("missing field") => {
                BatchError::Envelope(format!("{missing}: send {{\"calls\": [...]}}"))
            }
            other => BatchError::Envelope(format!("`calls` must be an array of records ({other})")),
        })?
        .calls;
    if calls.len() > LIMITS.backend_batch_records {
        return Err(BatchError::TooManyRecords {
            count: calls.len(),
            max: LIMITS.backend_batch_records,
        });
    }
    let mut parsed = ParsedCalls {
        accepted: Vec::with_capacity(calls.len()),
        rejected: Vec::new(),
    };
    for (index, raw) in calls.into_iter().enumerate() {
        let checked = serde_json::from_str::<T>(raw.get())
            .map_err(|e| (without_position(&e), SCHEMA_CODE))
            .and_then(|record| match check_record(&record, received_at_ms) {
                Ok(at_ms) => Ok((record, at_ms)),
                Err(e) => Err((e.to_string(), e.code())),
            });
        match checked {
            Ok((record, at_ms)) => parsed.accepted.push((index, record, at_ms)),
            Err((reason, code)) => parsed.rejected.push(ItemRejection {
                index,
                reason,
                code,
            }),
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_795_676_400_000;

    fn parse<T: BackendRecord>(body: serde_json::Value) -> Result<ParsedCalls<T>, BatchError> {
        parse_backend_batch(body.to_string().as_bytes(), NOW)
    }

    fn api() -> serde_json::Value {
        json!({"endpoint": "/api/v1/chat", "method": "POST", "status": 200, "duration_ms": 123.4,
               "user_id": "u_42", "service": "api", "trace_id": "4bf92f", "event_id": "e1",
               "timestamp": "2026-11-26T07:00:00Z"})
    }

    fn ai() -> serde_json::Value {
        json!({"model": "gpt-4o", "provider": "openai", "input_tokens": 1200,
               "output_tokens": 300, "cached_input_tokens": 200, "cache_write_tokens": 0,
               "reasoning_tokens": 0, "duration_ms": 2300, "success": true, "error_type": null,
               "user_id": "u_42", "cost_usd": null, "timestamp": 1795676400000_i64})
    }

    fn with(
        mut record: serde_json::Value,
        key: &str,
        value: serde_json::Value,
    ) -> serde_json::Value {
        record[key] = value;
        record
    }

    #[test]
    fn parses_the_contract_examples() {
        let parsed = parse::<ApiCall>(json!({"calls": [api()]})).unwrap();
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let (index, call, at_ms) = &parsed.accepted[0];
        assert_eq!((*index, call.status, call.meta.service()), (0, 200, "api"));
        assert_eq!(*at_ms, NOW, "2026-11-26T07:00:00Z");

        let parsed = parse::<AiCall>(json!({"calls": [ai()]})).unwrap();
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let (_, call, at_ms) = &parsed.accepted[0];
        assert_eq!(
            (call.input_tokens, call.cached_input_tokens, *at_ms),
            (1200, 200, NOW)
        );
        assert!(call.succeeded());
        assert_eq!(call.meta.service(), DEFAULT_SERVICE);
    }

    #[test]
    fn times_are_rfc3339_with_offsets_or_epoch_ms_or_the_time_received() {
        let at = |timestamp: serde_json::Value| {
            let parsed = parse::<ApiCall>(json!({"calls": [with(api(), "timestamp", timestamp)]}));
            parsed.unwrap().accepted[0].2
        };
        assert_eq!(at(json!("2026-11-26T08:00:00+01:00")), NOW);
        assert_eq!(at(json!("2026-11-26T06:00:00.250Z")), NOW - 3_599_750);
        assert_eq!(at(json!(NOW as f64 - 5.4)), NOW - 5);
        assert_eq!(at(json!(null)), NOW);
    }

    #[test]
    fn each_bad_record_is_refused_by_name_and_the_good_ones_kept() {
        let cases = [
            (with(ai(), "input_tokens", json!(-5)), "input_tokens"),
            (with(ai(), "model", json!("m".repeat(10_000))), "model"),
            (
                with(ai(), "timestamp", json!("3000-01-01T00:00:00Z")),
                "after",
            ),
            (
                with(ai(), "cached_input_tokens", json!(5000)),
                "cannot be smaller",
            ),
            (with(ai(), "cost_usd", json!(-1.0)), "cost_usd"),
            (with(ai(), "user_id", json!("a\u{0}b")), "user_id"),
            (with(ai(), "timestamp", json!("yesterday")), "timestamp"),
            (with(ai(), "duration_ms", json!("slow")), "invalid type"),
        ];
        let mut calls = vec![ai()];
        calls.extend(cases.iter().map(|(record, _)| record.clone()));
        calls.push(ai());
        let parsed = parse::<AiCall>(json!({ "calls": calls })).unwrap();
        let kept: Vec<usize> = parsed.accepted.iter().map(|(i, _, _)| *i).collect();
        assert_eq!(kept, [0, cases.len() + 1]);
        for (rejection, (_, words)) in parsed.rejected.iter().zip(&cases) {
            assert!(
                rejection.reason.contains(words),
                "{rejection:?} should say {words}"
            );
        }
        let parsed = parse::<ApiCall>(json!({"calls": [
            with(api(), "status", json!(999)), with(api(), "method", json!("GET /x")), api()
        ]}))
        .unwrap();
        assert_eq!(parsed.accepted.len(), 1);
        assert!(
            parsed.rejected[0].reason.contains("`status` is 999"),
            "{:?}",
            parsed.rejected
        );
        assert!(
            parsed.rejected[1].reason.contains("`method`"),
            "{:?}",
            parsed.rejected
        );
    }

    #[test]
    fn a_broken_envelope_is_refused_whole() {
        let err = |body: &[u8]| parse_backend_batch::<ApiCall>(body, NOW).unwrap_err();
        assert!(err(b"[1]").is_malformed());
        assert!(err(b"{\"calls\": 1").is_malformed());
        let missing = err(b"{\"records\": []}");
        assert!(!missing.is_malformed());
        assert!(missing.to_string().contains("calls"), "{missing}");
        let calls = vec![api(); LIMITS.backend_batch_records + 1];
        let too_many = err(json!({ "calls": calls }).to_string().as_bytes());
        assert!(too_many.to_string().contains("split it"), "{too_many}");
    }
}
