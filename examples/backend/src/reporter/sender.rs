//! The background task that posts the buffered records to the collector in batches.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use actix_web::http::StatusCode;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::records::Batch;
use super::{Record, ReporterConfig, Shared};

/// The collector's write-key header (CONTRACT.md, "Ingest").
pub const KEY_HEADER: &str = "X-Perfwatch-Key";

/// The longest `Retry-After` honoured, so that a wrong header cannot park the sender for hours.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Most bytes of a collector's answer read (its answers are small envelopes).
const ANSWER_LIMIT: usize = 64 * 1024;

/// Why a batch was not delivered.
#[derive(Debug, Error)]
enum SendError {
    /// Worth trying again: the collector is unreachable, timed out, busy or restarting.
    #[error("{reason}")]
    Retry {
        reason: String,
        /// The wait the collector asked for with `Retry-After`.
        after: Option<Duration>,
    },
    /// The collector refused the batch for good (a 4xx other than 408 and 429, or a 500).
    #[error("the collector refused the batch with {status}: {message}")]
    Refused { status: StatusCode, message: String },
}

/// The collector's envelope, as far as the sender reads it.
#[derive(Debug, Default, Deserialize)]
struct Answer {
    #[serde(default)]
    data: Option<Accepted>,
    #[serde(default)]
    error: Option<ErrorBody>,
}

#[derive(Debug, Deserialize)]
struct Accepted {
    #[serde(default)]
    rejected: Vec<Rejection>,
}

#[derive(Debug, Deserialize)]
struct Rejection {
    index: usize,
    reason: String,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    message: String,
}

/// The wait after failed posts: `min` doubling up to `max`, back to `min` after a success.
#[derive(Debug)]
struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max,
            next: min,
        }
    }

    fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    fn reset(&mut self) {
        self.next = self.min;
    }
}

/// The task: waits for a batch to be due, then sends everything waiting, batch by batch.
pub(super) async fn run(shared: Arc<Shared>, config: ReporterConfig) {
    let client = awc::Client::builder()
        .timeout(config.request_timeout)
        .finish();
    let mut backoff = Backoff::new(config.min_backoff, config.max_backoff);
    loop {
        if !shared.is_closing() {
            tokio::select! {
                _ = tokio::time::sleep(config.interval) => {}
                _ = shared.wake.notified() => {}
            }
        }
        let closing = shared.is_closing();
        loop {
            let batch = shared.take(config.batch_max);
            if batch.is_empty() {
                break;
            }
            match deliver(&client, &config, &shared, batch).await {
                Ok(()) => backoff.reset(),
                Err((unsent, reason, after)) => {
                    shared.retries.fetch_add(1, Ordering::Relaxed);
                    if closing {
                        // One try at shutdown: what is left is dropped, and counted.
                        shared.requeue(unsent);
                        let dropped = shared.abandon();
                        tracing::warn!(
                            dropped,
                            %reason,
                            "the collector is unreachable at shutdown: the last records are dropped"
                        );
                        return;
                    }
                    shared.requeue(unsent);
                    let wait = after.unwrap_or_else(|| backoff.next_wait());
                    tracing::debug!(%reason, ?wait, "the collector did not take a batch; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        // Shutting down: one last try at once.
                        _ = wait_closing(&shared) => {}
                    }
                    break;
                }
            }
        }
        if closing {
            return;
        }
    }
}

/// Returns when the reporter starts closing.
async fn wait_closing(shared: &Shared) {
    while !shared.is_closing() {
        shared.wake.notified().await;
    }
}

/// Sends `batch`, API calls and AI calls each to their endpoint. On a failure worth retrying,
/// gives back the records not delivered, why, and the wait the collector asked for.
async fn deliver(
    client: &awc::Client,
    config: &ReporterConfig,
    shared: &Shared,
    batch: Vec<Record>,
) -> Result<(), (Vec<Record>, String, Option<Duration>)> {
    let (mut api, mut ai) = (Vec::new(), Vec::new());
    for record in batch {
        match record {
            Record::Api(r) => api.push(r),
            Record::Ai(r) => ai.push(r),
        }
    }
    if !api.is_empty() {
        match post(client, config, "api-calls", &api).await {
            Ok(refused) => count(shared, api.len(), refused),
            Err(SendError::Retry { reason, after }) => {
                let unsent = api
                    .into_iter()
                    .map(Record::Api)
                    .chain(ai.into_iter().map(Record::Ai))
                    .collect();
                return Err((unsent, reason, after));
            }
            Err(refused @ SendError::Refused { .. }) => {
                shared
                    .refused
                    .fetch_add(api.len() as u64, Ordering::Relaxed);
                tracing::warn!(records = api.len(), "{refused}");
            }
        }
    }
    if !ai.is_empty() {
        match post(client, config, "ai-calls", &ai).await {
            Ok(refused) => count(shared, ai.len(), refused),
            Err(SendError::Retry { reason, after }) => {
                return Err((ai.into_iter().map(Record::Ai).collect(), reason, after));
            }
            Err(refused @ SendError::Refused { .. }) => {
                shared.refused.fetch_add(ai.len() as u64, Ordering::Relaxed);
                tracing::warn!(records = ai.len(), "{refused}");
            }
        }
    }
    Ok(())
}

/// Counts a delivered batch of `len` records of which the collector refused `refused`.
fn count(shared: &Shared, len: usize, refused: u64) {
    shared
        .sent
        .fetch_add(len as u64 - refused, Ordering::Relaxed);
    shared.refused.fetch_add(refused, Ordering::Relaxed);
}

/// Posts `{"calls": records}` to `/api/v1/monitoring/<kind>`; on a 2xx, the number of records
/// the collector rejected one by one (logged with the first reason).
async fn post<T: Serialize>(
    client: &awc::Client,
    config: &ReporterConfig,
    kind: &str,
    records: &[T],
) -> Result<u64, SendError> {
    // Each record is a route pattern and a few short fields (under 600 bytes), so a batch of
    // at most 1000 stays well under the collector's 1 MB limit.
    let body = serde_json::to_vec(&Batch { calls: records }).map_err(|e| SendError::Refused {
        status: StatusCode::BAD_REQUEST,
        message: format!("the batch could not be written as JSON: {e}"),
    })?;
    let url = format!("{}/api/v1/monitoring/{kind}", config.collector);
    let mut request = client
        .post(&url)
        .insert_header((CONTENT_TYPE, "application/json"));
    if let Some(key) = &config.write_key {
        request = request.insert_header((KEY_HEADER, key.as_str()));
    }
    let mut response = request
        .send_body(body)
        .await
        .map_err(|e| SendError::Retry {
            reason: format!("POST {url}: {e}"),
            after: None,
        })?;
    let status = response.status();
    let after = retry_after(response.headers());
    let answer: Answer = match response.body().limit(ANSWER_LIMIT).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => Answer::default(),
    };
    if status.is_success() {
        let rejected = answer.data.map(|d| d.rejected).unwrap_or_default();
        if let Some(first) = rejected.first() {
            tracing::warn!(
                rejected = rejected.len(),
                of = records.len(),
                "the collector rejected some {kind} records; record {}: {}",
                first.index,
                first.reason
            );
        }
        return Ok(rejected.len() as u64);
    }
    let message = answer
        .error
        .map(|e| e.message)
        .unwrap_or_else(|| "no message".to_owned());
    if is_retryable(status) {
        return Err(SendError::Retry {
            reason: format!("POST {url}: {status}: {message}"),
            after,
        });
    }
    Err(SendError::Refused { status, message })
}

/// Statuses that say "not now" rather than "never".
fn is_retryable(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::REQUEST_TIMEOUT
            | StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// The wait `Retry-After` asks for, in seconds (the collector's form), at most
/// [`MAX_RETRY_AFTER`]; an HTTP date is left to the backoff.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    #[test]
    fn backoff_doubles_to_its_ceiling_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(3));
        let waits: Vec<u64> = (0..5)
            .map(|_| backoff.next_wait().as_millis() as u64)
            .collect();
        assert_eq!(waits, [500, 1000, 2000, 3000, 3000]);
        backoff.reset();
        assert_eq!(backoff.next_wait(), Duration::from_millis(500));
    }

    #[test]
    fn retry_after_is_seconds_and_bounded() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(5)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("86400"));
        assert_eq!(retry_after(&headers), Some(MAX_RETRY_AFTER));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn only_not_now_answers_are_retried() {
        for status in [408, 429, 502, 503, 504] {
            assert!(
                is_retryable(StatusCode::from_u16(status).unwrap()),
                "{status}"
            );
        }
        for status in [400, 401, 403, 404, 413, 415, 422, 500] {
            assert!(
                !is_retryable(StatusCode::from_u16(status).unwrap()),
                "{status}"
            );
        }
    }
}
