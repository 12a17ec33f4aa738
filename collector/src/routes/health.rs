//! `GET /api/v1/monitoring/health`: liveness and readiness.

use actix_web::{web, HttpResponse};
use perfwatch_protocol::{Limits, LIMITS};
use serde::Serialize;

use crate::envelope;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Store;

/// The health answer's `data`.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok` (an unreachable store answers 503 instead).
    pub status: &'static str,
    /// The collector's version.
    pub version: &'static str,
    /// Seconds since the collector started.
    pub uptime_seconds: u64,
    /// The store.
    pub store: StoreHealth,
    /// Events waiting to be written; writes are synchronous in this version, so always 0.
    pub queue_depth: usize,
    /// The published limits, so that clients can split their batches to fit.
    pub limits: Limits,
}

/// The store part of [`Health`].
#[derive(Debug, Serialize)]
pub struct StoreHealth {
    /// `sqlite`.
    pub kind: &'static str,
    /// Whether `SELECT 1` answered.
    pub reachable: bool,
}

/// 200 when the store answers, 503 with `Retry-After` when it does not.
pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.with_store(Store::ping).await?;
    Ok(envelope::success(&Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.started_at.elapsed().as_secs(),
        store: StoreHealth {
            kind: state.store.kind(),
            reachable: true,
        },
        queue_depth: 0,
        limits: LIMITS,
    }))
}
