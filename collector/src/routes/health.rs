//! `GET /api/v1/monitoring/health`: liveness and readiness.

use actix_web::{web, HttpResponse};
use perfwatch_protocol::{Limits, LIMITS};
use serde::Serialize;

use crate::envelope;
use crate::error::ApiError;
use crate::ingest_queue::QueueStats;
use crate::state::AppState;

/// The health answer's `data`.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok`: the store answers and the ingest queue has room (otherwise 503 `not_ready`).
    pub status: &'static str,
    /// The collector's version.
    pub version: &'static str,
    /// Seconds since the collector started.
    pub uptime_seconds: u64,
    /// The store.
    pub store: StoreHealth,
    /// Batches waiting for the writer.
    pub queue_depth: usize,
    /// The ingest queue in detail.
    pub queue: QueueStats,
    /// The published limits, so that clients can split their batches to fit.
    pub limits: Limits,
}

/// The store part of [`Health`].
#[derive(Debug, Serialize)]
pub struct StoreHealth {
    /// `sqlite` or `postgres`.
    pub kind: &'static str,
    /// Whether the store answered a ping.
    pub reachable: bool,
    /// The database's schema version.
    pub schema_version: i64,
}

/// 200 when the collector can take batches; 503 `not_ready` with `Retry-After` when the store
/// does not answer or the ingest queue is full, so that a load balancer sends traffic elsewhere.
pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let schema_version = state
        .with_store(|store| {
            store.ping()?;
            store.schema_version()
        })
        .await
        .map_err(|e| ApiError::NotReady(format!("the store does not answer: {e}")))?;
    let queue = state.queue.stats();
    if !state.queue.has_room() {
        return Err(ApiError::NotReady(format!(
            "the ingest queue is full ({} batches, {} bytes waiting)",
            queue.depth_batches, queue.depth_bytes
        )));
    }
    Ok(envelope::success(&Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.started_at.elapsed().as_secs(),
        store: StoreHealth {
            kind: state.store.kind(),
            reachable: true,
            schema_version,
        },
        queue_depth: queue.depth_batches,
        queue,
        limits: LIMITS,
    }))
}
