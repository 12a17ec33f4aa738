//! Which spans become which records: the OpenTelemetry semantic conventions for generative AI
//! (`gen_ai.*`) and for HTTP servers, mapped onto protocol v1's backend records so that they are
//! checked by the same rules as records sent to `/api-calls` and `/ai-calls`.
//!
//! - A span with `gen_ai.request.model` or `gen_ai.response.model` is an **AI call**: model
//!   (the requested one, else the one that answered), provider (`gen_ai.provider.name`, or the
//!   older `gen_ai.system`), operation, the token counts (`gen_ai.usage.input_tokens`,
//!   `output_tokens`, `cache_read.input_tokens`, `cache_creation.input_tokens`, and
//!   `reasoning.output_tokens`; the older `prompt_tokens` / `completion_tokens` too), success
//!   (no `error.type` and a status that is not an error).
//! - A span of kind SERVER with an HTTP method (`http.request.method`, or the older
//!   `http.method`) is an **API call**: endpoint from `http.route` (else the path of
//!   `url.path` / `http.target`), status from `http.response.status_code` (or the older
//!   `http.status_code`).
//! - Both kinds take their service from the resource's `service.name`, their user from
//!   `user.id` (or `enduser.id`), their time from the span's start, their duration from its
//!   start and end, their `trace_id`, and the span id as `event_id`, so a retried export is
//!   stored once.
//!
//! Any other span (internal work, client calls, tool executions, a server span without a
//! status because no answer was sent) is not a record: it is counted as ignored, not refused.
//! A span whose AI call is taken but whose API call breaks a rule (or the other way round)
//! counts as taken. The method `_OTHER` (the conventions' name for an unknown method) is
//! stored as `OTHER`. A `gen_ai` span of a model operation (`chat`,
//! `text_completion`, `generate_content`, `embeddings`) without a model is refused.

use perfwatch_protocol::validate::ValidationError;
use perfwatch_protocol::{
    check_record, AiCall, ApiCall, BackendRecord, ParsedCalls, RecordMeta, Timestamp,
};

use crate::stats::url_path;

use super::wire::{
    AnyValue, ExportTraceServiceRequest, KeyValue, Span, SpanKind, Value, STATUS_CODE_ERROR,
};

/// Operations that call a model, so whose spans must name one.
const MODEL_OPERATIONS: [&str; 4] = ["chat", "text_completion", "generate_content", "embeddings"];

/// Most refusal reasons quoted in the answer's `errorMessage`.
const REASONS_QUOTED: usize = 5;

/// Record fields and the span attributes they come from, to name in refusals.
const META_ATTRIBUTES: [(&str, &str); 5] = [
    ("service", "service.name"),
    ("user_id", "user.id"),
    ("event_id", "spanId"),
    ("trace_id", "traceId"),
    ("duration_ms", "endTimeUnixNano - startTimeUnixNano"),
];
const AI_ATTRIBUTES: [(&str, &str); 8] = [
    ("model", "gen_ai.request.model"),
    ("provider", "gen_ai.provider.name"),
    ("operation", "gen_ai.operation.name"),
    ("input_tokens", "gen_ai.usage.input_tokens"),
    ("output_tokens", "gen_ai.usage.output_tokens"),
    (
        "cached_input_tokens",
        "gen_ai.usage.cache_read.input_tokens",
    ),
    (
        "cache_write_tokens",
        "gen_ai.usage.cache_creation.input_tokens",
    ),
    ("reasoning_tokens", "gen_ai.usage.reasoning.output_tokens"),
];
const API_ATTRIBUTES: [(&str, &str); 3] = [
    ("endpoint", "http.route"),
    ("method", "http.request.method"),
    ("status", "http.response.status_code"),
];

/// A record rule broken, told in the span's terms: attribute names for record fields, the
/// span's start for the record's time.
fn in_span_terms(error: &ValidationError, attributes: &[(&str, &str)]) -> String {
    let mut message = error.to_string();
    for (field, attribute) in attributes.iter().chain(&META_ATTRIBUTES) {
        message = message.replace(&format!("`{field}`"), &format!("`{attribute}`"));
    }
    message
        .replace("item is dated", "the span starts")
        .replace("the batch was sent", "the collector received it")
}

/// The records an export request holds, and what was not taken.
#[derive(Debug)]
pub struct SpanRecords {
    /// API calls, indexed by the span's position in the request.
    pub api_calls: ParsedCalls<ApiCall>,
    /// AI calls, indexed by the span's position in the request.
    pub ai_calls: ParsedCalls<AiCall>,
    /// Spans in the request.
    pub spans: usize,
    /// Spans that are neither AI nor HTTP server spans.
    pub ignored: usize,
    /// Spans refused, each with why: `span <id> (<name>): <reason>`.
    pub refused: Vec<String>,
}

impl SpanRecords {
    /// OTLP's `partialSuccess.errorMessage`: how many were refused and the first reasons.
    pub fn refusal_message(&self) -> String {
        let mut message = format!("{} of {} spans refused", self.refused.len(), self.spans);
        for reason in self.refused.iter().take(REASONS_QUOTED) {
            message.push_str("; ");
            message.push_str(reason);
        }
        if self.refused.len() > REASONS_QUOTED {
            message.push_str("; ...");
        }
        message
    }
}

/// The records of `request`, received at `received_at_ms`, each checked by the backend
/// record rules.
pub fn records(request: &ExportTraceServiceRequest, received_at_ms: i64) -> SpanRecords {
    let mut out = SpanRecords {
        api_calls: ParsedCalls {
            accepted: Vec::new(),
            rejected: Vec::new(),
        },
        ai_calls: ParsedCalls {
            accepted: Vec::new(),
            rejected: Vec::new(),
        },
        spans: 0,
        ignored: 0,
        refused: Vec::new(),
    };
    for resource_spans in &request.resource_spans {
        let service = resource_spans
            .resource
            .as_ref()
            .and_then(|r| text(&r.attributes, &["service.name"]));
        for span in resource_spans.scope_spans.iter().flat_map(|s| &s.spans) {
            let index = out.spans;
            out.spans += 1;
            let mut reasons = Vec::new();
            let as_ai = checked(
                ai_call(span, service.as_deref()),
                &AI_ATTRIBUTES,
                received_at_ms,
            );
            let as_api = checked(
                api_call(span, service.as_deref()),
                &API_ATTRIBUTES,
                received_at_ms,
            );
            let mut taken = false;
            match as_ai {
                Some(Ok((call, at_ms))) => {
                    out.ai_calls.accepted.push((index, call, at_ms));
                    taken = true;
                }
                Some(Err(reason)) => reasons.push(reason),
                None => {}
            }
            match as_api {
                Some(Ok((call, at_ms))) => {
                    out.api_calls.accepted.push((index, call, at_ms));
                    taken = true;
                }
                Some(Err(reason)) => reasons.push(reason),
                None => {}
            }
            let described = || {
                format!(
                    "span {} ({}): {}",
                    hex(&span.span_id),
                    span.name.chars().take(60).collect::<String>(),
                    reasons.join(", ")
                )
            };
            match (taken, reasons.is_empty()) {
                // Part of it was stored (say, its AI call but not its API call): taken.
                (true, false) => tracing::debug!(span = %described(), "OTLP span partly taken"),
                (false, false) => out.refused.push(described()),
                (false, true) => out.ignored += 1,
                (true, true) => {}
            }
        }
    }
    out
}

/// A record built from a span, checked by the record rules: with its time in epoch ms, or why
/// it is refused (in the span's terms).
fn checked<T: BackendRecord>(
    built: Option<Result<T, String>>,
    attributes: &[(&str, &str)],
    received_at_ms: i64,
) -> Option<Result<(T, i64), String>> {
    built.map(|record| {
        let record = record?;
        check_record(&record, received_at_ms)
            .map(|at_ms| (record, at_ms))
            .map_err(|e| in_span_terms(&e, attributes))
    })
}

/// The AI call `span` describes, if it is a `gen_ai` span; `Err` says why it cannot be one.
fn ai_call(span: &Span, service: Option<&str>) -> Option<Result<AiCall, String>> {
    let attrs = &span.attributes;
    let operation = text(attrs, &["gen_ai.operation.name"]);
    let model = text(attrs, &["gen_ai.request.model", "gen_ai.response.model"]);
    let Some(model) = model else {
        return match operation {
            Some(op) if MODEL_OPERATIONS.contains(&op.as_str()) => Some(Err(format!(
                "gen_ai.operation.name is `{op}` but neither gen_ai.request.model nor gen_ai.response.model is set"
            ))),
            _ => None,
        };
    };
    Some((|| {
        let error_type = text(attrs, &["error.type"]);
        let failed = span
            .status
            .as_ref()
            .is_some_and(|s| s.code == STATUS_CODE_ERROR);
        let error_type = error_type.or_else(|| {
            failed.then(|| {
                span.status
                    .as_ref()
                    .map(|s| s.message.chars().take(200).collect::<String>())
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "error".to_owned())
            })
        });
        Ok(AiCall {
            model,
            provider: text(attrs, &["gen_ai.provider.name", "gen_ai.system"]),
            operation,
            input_tokens: count(
                attrs,
                &["gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"],
            )?,
            output_tokens: count(
                attrs,
                &[
                    "gen_ai.usage.output_tokens",
                    "gen_ai.usage.completion_tokens",
                ],
            )?,
            cached_input_tokens: count(attrs, &["gen_ai.usage.cache_read.input_tokens"])?,
            cache_write_tokens: count(attrs, &["gen_ai.usage.cache_creation.input_tokens"])?,
            reasoning_tokens: count(attrs, &["gen_ai.usage.reasoning.output_tokens"])?,
            duration_ms: duration_ms(span)?,
            success: Some(error_type.is_none()),
            error_type,
            cost_usd: None,
            meta: meta(span, service)?,
        })
    })())
}

/// The API call `span` describes, if it is an HTTP server span; `Err` says why it cannot be
/// one.
fn api_call(span: &Span, service: Option<&str>) -> Option<Result<ApiCall, String>> {
    if span.kind != SpanKind::Server as i32 {
        return None;
    }
    let attrs = &span.attributes;
    let method = text(attrs, &["http.request.method", "http.method"])?;
    // The conventions' name for a method the server does not know.
    let method = if method == "_OTHER" {
        "OTHER".to_owned()
    } else {
        method
    };
    // No status: no answer was sent (the request was aborted), so no call to count.
    let status = match integer(attrs, &["http.response.status_code", "http.status_code"]) {
        Ok(None) => return None,
        Ok(Some(status)) => Ok(status),
        Err(reason) => Err(reason),
    };
    Some((|| {
        let endpoint = text(attrs, &["http.route"])
            .or_else(|| text(attrs, &["url.path", "http.target"]).map(|t| url_path(&t).to_owned()))
            .ok_or("an HTTP server span needs http.route (or url.path)")?;
        let status = status?;
        Ok(ApiCall {
            endpoint,
            method,
            status,
            duration_ms: duration_ms(span)?,
            meta: meta(span, service)?,
        })
    })())
}

/// The fields every record takes from a span.
fn meta(span: &Span, service: Option<&str>) -> Result<RecordMeta, String> {
    if span.start_time_unix_nano == 0 {
        return Err("startTimeUnixNano is not set".to_owned());
    }
    Ok(RecordMeta {
        service: service.map(str::to_owned),
        event_id: (!span.span_id.is_empty()).then(|| hex(&span.span_id)),
        user_id: text(&span.attributes, &["user.id", "enduser.id"]),
        trace_id: (!span.trace_id.is_empty()).then(|| hex(&span.trace_id)),
        timestamp: Some(Timestamp::EpochMs(span.start_time_unix_nano as f64 / 1e6)),
    })
}

fn duration_ms(span: &Span) -> Result<f64, String> {
    span.end_time_unix_nano
        .checked_sub(span.start_time_unix_nano)
        .map(|nanos| nanos as f64 / 1e6)
        .ok_or_else(|| "endTimeUnixNano is before startTimeUnixNano".to_owned())
}

/// The value of the first of `keys` that is set.
fn value<'a, 'k>(attrs: &'a [KeyValue], keys: &[&'k str]) -> Option<(&'k str, &'a Value)> {
    keys.iter().find_map(|key| {
        attrs
            .iter()
            .find(|kv| kv.key == *key)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|AnyValue { value }| value.as_ref())
            .map(|v| (*key, v))
    })
}

/// A text attribute (an empty one counts as absent).
fn text(attrs: &[KeyValue], keys: &[&str]) -> Option<String> {
    match value(attrs, keys)? {
        (_, Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// An integer attribute: an int, a whole double, or a text of digits (senders differ).
fn integer(attrs: &[KeyValue], keys: &[&str]) -> Result<Option<i64>, String> {
    let Some((key, value)) = value(attrs, keys) else {
        return Ok(None);
    };
    match value {
        Value::Int(n) => Ok(Some(*n)),
        Value::Double(d) if d.fract() == 0.0 && d.abs() < 9e15 => Ok(Some(*d as i64)),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{key} must be an integer")),
        _ => Err(format!("{key} must be an integer")),
    }
}

/// A token count: 0 when absent.
fn count(attrs: &[KeyValue], keys: &[&str]) -> Result<i64, String> {
    Ok(integer(attrs, keys)?.unwrap_or(0))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
