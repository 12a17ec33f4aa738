//! `POST /v1/traces`: OTLP/HTTP trace export, so that an app instrumented with OpenTelemetry
//! reports by pointing its exporter at the collector
//! (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://collector:8001/v1/traces`).
//!
//! It answers as OTLP/HTTP specifies, not with the collector's envelope: 200 with an
//! `ExportTraceServiceResponse` in the request's encoding (protobuf or JSON), carrying
//! `partialSuccess` (the refused span count and why) when some spans were refused; an error
//! status with a `google.rpc.Status` body otherwise. Status codes and `Retry-After` come from
//! [`ApiError`], as for every other endpoint: 400 for a body that does not decode, 413 over the
//! size limit, 415 for another content type, 503 with `Retry-After` when the queue is full.

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::body::BoxBody;
use actix_web::http::header::{HeaderValue, CONTENT_TYPE};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use perfwatch_protocol::LIMITS;
use prost::Message;
use serde_json::json;

use crate::body::{self, ContentEncoding};
use crate::clock;
use crate::error::ApiError;
use crate::normalize::{self, Batch};
use crate::otlp::{self, ExportTracePartialSuccess, ExportTraceServiceResponse, RpcStatus};
use crate::state::AppState;

/// The encodings OTLP/HTTP defines, by content type.
const CONTENT_TYPES: [&str; 2] = ["application/x-protobuf", "application/json"];
const CONTENT_TYPES_IN_WORDS: &str =
    "application/x-protobuf (binary protobuf) or application/json (OTLP JSON)";

/// `google.rpc.Code.INVALID_ARGUMENT` and `UNAVAILABLE`, for error bodies.
const RPC_INVALID_ARGUMENT: i32 = 3;
const RPC_UNAVAILABLE: i32 = 14;

/// An OTLP/HTTP encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/x-protobuf",
            Self::Json => "application/json",
        }
    }
}

/// Takes an export request: reads it (gzip allowed, at most [`LIMITS.otlp_bytes`] decoded),
/// turns its AI and HTTP server spans into records, queues them for the writer and answers
/// once they are committed.
pub async fn traces(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    // Errors before the encoding is known are answered in JSON.
    let mut encoding = Encoding::Json;
    match export(&req, payload, &state, &mut encoding).await {
        Ok(response) => encoded(encoding, &response, response_json(&response)),
        Err(e) => {
            tracing::debug!(error = %e, "OTLP export refused");
            error_response(encoding, &e)
        }
    }
}

async fn export(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    encoding: &mut Encoding,
) -> Result<ExportTraceServiceResponse, ApiError> {
    let which = body::require_content_type(req.headers(), &CONTENT_TYPES, CONTENT_TYPES_IN_WORDS)?;
    *encoding = if which == 0 {
        Encoding::Protobuf
    } else {
        Encoding::Json
    };
    let content_encoding = ContentEncoding::from_headers(req.headers())?;
    let bytes = body::read_bounded(
        req.headers(),
        payload,
        content_encoding,
        LIMITS.otlp_bytes,
        state.body_timeout,
    )
    .await?;
    let received_at_ms = clock::now_ms() as i64;
    let request = match encoding {
        Encoding::Protobuf => otlp::decode_protobuf(&bytes).map_err(|e| {
            ApiError::Otlp(format!(
                "the body is not an OTLP ExportTraceServiceRequest in protobuf: {e}"
            ))
        })?,
        Encoding::Json => serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::Otlp(format!(
                "the body is not an OTLP ExportTraceServiceRequest in JSON: {e}"
            ))
        })?,
    };

    let found = otlp::records(&request, received_at_ms);
    drop(request);
    let refused = found.refused.len();
    let message = (refused > 0).then(|| found.refusal_message());
    let recorded = found.spans - found.ignored - refused;
    let batches = [
        Batch::ApiCalls(normalize::api_call_records(found.api_calls, received_at_ms)),
        Batch::AiCalls(normalize::ai_call_records(
            found.ai_calls,
            received_at_ms,
            &state.prices,
        )),
    ];
    // Each record is stored once per (service, span id), so a retry after a half-stored
    // request stores nothing twice.
    for batch in batches {
        if !batch.is_empty() {
            state.queue.submit(batch, bytes.len()).await?;
        }
    }
    let counters = &state.ingest;
    let add = |counter: &AtomicU64, n: usize| counter.fetch_add(n as u64, Ordering::Relaxed);
    add(&counters.otlp_spans_recorded, recorded);
    add(&counters.otlp_spans_ignored, found.ignored);
    add(&counters.otlp_spans_refused, refused);
    tracing::debug!(
        spans = found.spans,
        recorded,
        ignored = found.ignored,
        refused,
        "OTLP export stored"
    );
    Ok(ExportTraceServiceResponse {
        partial_success: message.map(|error_message| ExportTracePartialSuccess {
            rejected_spans: refused as i64,
            error_message,
        }),
    })
}

/// The success answer in OTLP JSON (64-bit integers as strings).
fn response_json(response: &ExportTraceServiceResponse) -> serde_json::Value {
    match &response.partial_success {
        Some(partial) => json!({"partialSuccess": {
            "rejectedSpans": partial.rejected_spans.to_string(),
            "errorMessage": partial.error_message,
        }}),
        None => json!({}),
    }
}

/// `message` as the body of a 200 answer in `encoding`.
fn encoded(encoding: Encoding, message: &impl Message, json: serde_json::Value) -> HttpResponse {
    let body = match encoding {
        Encoding::Protobuf => message.encode_to_vec(),
        Encoding::Json => json.to_string().into_bytes(),
    };
    HttpResponse::Ok()
        .content_type(encoding.content_type())
        .body(body)
}

/// `error`'s status code and headers (from [`ApiError`]), with a `google.rpc.Status` body in
/// `encoding` as OTLP/HTTP asks.
fn error_response(encoding: Encoding, error: &ApiError) -> HttpResponse {
    let mut response = error.error_response();
    let code = if response.status().is_server_error() {
        RPC_UNAVAILABLE
    } else {
        RPC_INVALID_ARGUMENT
    };
    let status = RpcStatus {
        code,
        message: error.to_string(),
    };
    let body = match encoding {
        Encoding::Protobuf => status.encode_to_vec(),
        Encoding::Json => json!({"code": status.code, "message": status.message})
            .to_string()
            .into_bytes(),
    };
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(encoding.content_type()),
    );
    response.set_body(BoxBody::new(body))
}
