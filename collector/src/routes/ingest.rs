//! Ingest: `POST /api/v1/monitoring/frontend-metrics` (a browser batch, protocol v1), and
//! `POST /api/v1/monitoring/api-calls` and `.../ai-calls` (a backend's records).

use actix_web::{web, HttpRequest, HttpResponse};
use perfwatch_protocol::{
    parse_backend_batch, parse_browser_batch, AiCall, ApiCall, BackendRecord, EventBody,
    ItemRejection, ParsedCalls, LIMITS,
};
use serde::Serialize;

use crate::access;
use crate::body::{self, ContentEncoding};
use crate::clock;
use crate::envelope;
use crate::error::ApiError;
use crate::normalize::{self, Batch};
use crate::state::{self, AppState, IngestCounters};
use std::sync::atomic::Ordering;

/// The media types a batch may come as: `text/plain` is what `sendBeacon` and preflight-free
/// `fetch` send; the charset parameter does not matter (the body must be UTF-8 JSON).
const BATCH_CONTENT_TYPES: [&str; 2] = ["text/plain", "application/json"];
const BATCH_CONTENT_TYPES_IN_WORDS: &str = "text/plain or application/json (any charset)";

/// The answer's `data`: a sound batch answers 200 even when some items were refused.
#[derive(Debug, Serialize)]
pub struct IngestOutcome {
    /// Items accepted (stored, or already stored by an earlier try of the same batch).
    pub accepted: usize,
    /// Items refused, with their index in `events` (or `calls`) and why.
    pub rejected: Vec<ItemRejection>,
    /// The accepted browser errors' kinds, as `/metrics` counts them
    /// ([`state::error_kind_label`]); not part of the answer.
    #[serde(skip)]
    pub error_kinds: Vec<&'static str>,
}

/// Takes a batch: checks its type and encoding, reads it within the size limit, parses it,
/// queues the good items for the writer and answers once they are committed, saying which
/// items were refused. Counts what it took and refused for `/metrics`.
pub async fn frontend_metrics(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let outcome = ingest(req, payload, &state).await;
    answer(&state, outcome)
}

/// Takes a backend's API call records (`{"calls": [...]}`), as [`frontend_metrics`] takes a
/// browser batch; each record is stored once per `(service, event_id)`.
pub async fn api_calls(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let outcome = ingest_backend(
        req,
        payload,
        &state,
        |calls: ParsedCalls<ApiCall>, at, _| {
            Batch::ApiCalls(normalize::api_call_records(calls, at))
        },
    )
    .await;
    answer(&state, outcome)
}

/// Takes a backend's AI model call records (`{"calls": [...]}`), each priced from the
/// collector's price table at the price of its day, and stored once per `(service, event_id)`.
pub async fn ai_calls(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let outcome = ingest_backend(
        req,
        payload,
        &state,
        |calls: ParsedCalls<AiCall>, at, state| {
            Batch::AiCalls(normalize::ai_call_records(calls, at, &state.prices))
        },
    )
    .await;
    answer(&state, outcome)
}

/// The answer to an ingest request, counted for `/metrics`.
fn answer(
    state: &AppState,
    outcome: Result<IngestOutcome, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let counters = &state.ingest;
    match outcome {
        Ok(outcome) => {
            counters.batches_stored.fetch_add(1, Ordering::Relaxed);
            counters
                .events_accepted
                .fetch_add(outcome.accepted as u64, Ordering::Relaxed);
            for rejection in &outcome.rejected {
                IngestCounters::bump(&counters.events_rejected, rejection.code);
            }
            for kind in &outcome.error_kinds {
                IngestCounters::bump(&counters.browser_errors, kind);
            }
            Ok(envelope::success(&outcome))
        }
        Err(e) => {
            IngestCounters::bump(&counters.batches_refused, e.code());
            Err(e)
        }
    }
}

/// Checks a batch request's type and encoding and reads its body, decompressed, within
/// `limit` bytes and the collector's body timeout.
async fn read_batch(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    state: &AppState,
) -> Result<Vec<u8>, ApiError> {
    body::require_content_type(
        req.headers(),
        &BATCH_CONTENT_TYPES,
        BATCH_CONTENT_TYPES_IN_WORDS,
    )?;
    let encoding = ContentEncoding::from_headers(req.headers())?;
    Ok(body::read_bounded(req.headers(), payload, encoding, limit, state.body_timeout).await?)
}

async fn ingest(
    req: HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<IngestOutcome, ApiError> {
    let bytes = read_batch(&req, payload, LIMITS.browser_batch_bytes, state).await?;
    let received_at_ms = clock::now_ms();

    let mut parsed = parse_browser_batch(&bytes)?;
    if let Some(app) = access::caller(&req).app {
        if parsed.header.app != app {
            return Err(ApiError::Forbidden(format!(
                "this write key is for the app `{app}`, not the batch's app"
            )));
        }
    }
    let outcome = IngestOutcome {
        accepted: parsed.accepted.len(),
        rejected: std::mem::take(&mut parsed.rejected),
        error_kinds: parsed
            .accepted
            .iter()
            .filter_map(|(_, event)| match &event.body {
                EventBody::Error(error) => Some(state::error_kind_label(error)),
                _ => None,
            })
            .collect(),
    };
    let mut records = normalize::browser_records(parsed, received_at_ms);
    normalize::scrub(&mut records, &state.scrub_rules);
    let stored = state.queue.submit(records.into(), bytes.len()).await?;
    tracing::debug!(
        stored = stored.stored,
        rejected = outcome.rejected.len(),
        "browser batch stored"
    );
    Ok(outcome)
}

/// Reads a backend batch (JSON, optionally gzip, at most the backend limit), parses and
/// validates its records as `T`, turns the good ones into a [`Batch`] with `to_batch` (given
/// the time received) and queues it for the writer, answering once it is committed.
async fn ingest_backend<T: BackendRecord>(
    req: HttpRequest,
    payload: web::Payload,
    state: &AppState,
    to_batch: impl FnOnce(ParsedCalls<T>, i64, &AppState) -> Batch,
) -> Result<IngestOutcome, ApiError> {
    let bytes = read_batch(&req, payload, LIMITS.backend_batch_bytes, state).await?;
    let received_at_ms = clock::now_ms() as i64;
    let mut parsed = parse_backend_batch::<T>(&bytes, received_at_ms)?;
    let rejected = std::mem::take(&mut parsed.rejected);
    let records = to_batch(parsed, received_at_ms, state);
    let outcome = IngestOutcome {
        accepted: records.len(),
        rejected,
        error_kinds: Vec::new(),
    };
    if !records.is_empty() {
        state.queue.submit(records, bytes.len()).await?;
    }
    Ok(outcome)
}
