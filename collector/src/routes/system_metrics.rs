//! `GET /api/v1/monitoring/system/metrics?minutes=`: the host now, its history over the window
//! (at most 500 points per series) and statistics (min / avg / max / p95), with its status.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::clock;
use crate::envelope;
use crate::error::ApiError;
use crate::host::{HostSample, TopProcesses};
use crate::host_history::{self, Assessment, HostPoint, SeriesStats, MAX_POINTS};
use crate::state::AppState;
use crate::window::Window;

/// The query parameters.
#[derive(Debug, Deserialize)]
pub struct MetricsQuery {
    /// Minutes back from now (decimal, default 60, at most 10080). Text, so that a bad value
    /// gets a message naming `minutes`.
    pub minutes: Option<String>,
}

/// The answer's `data`.
#[derive(Debug, Serialize)]
pub struct SystemMetrics {
    /// The window, minutes back from now.
    pub minutes: f64,
    /// The host the samples are of.
    pub host: String,
    /// `healthy`, `warning` or `critical`, and why (`null` before the first sample).
    pub status: Option<Assessment>,
    /// The latest sample (`null` before the first).
    pub current: Option<HostSample>,
    /// The busiest processes, by CPU and by memory, from the latest listing.
    pub top_processes: Option<TopProcesses>,
    /// Each series' statistics over the window.
    pub statistics: BTreeMap<&'static str, SeriesStats>,
    /// The samples of the window, averaged into at most 500 points.
    pub history: History,
}

/// The window's samples.
#[derive(Debug, Serialize)]
pub struct History {
    /// Samples stored in the window.
    pub samples: usize,
    /// The points (each the mean of the samples of its slice of the window).
    pub points: Vec<HostPoint>,
}

/// The host now, over the window, and its status.
pub async fn system_metrics(
    state: web::Data<AppState>,
    query: web::Query<MetricsQuery>,
) -> Result<HttpResponse, ApiError> {
    let window = Window::from_minutes_param(query.minutes.as_deref())?;
    let latest = state
        .host
        .latest
        .read()
        .map(|latest| latest.clone())
        .unwrap_or_default();
    let host = state.host.name.clone();
    let now = clock::to_epoch_ms(clock::now_ms());
    let points = state
        .with_store({
            let host = host.clone();
            move |store| store.host_points(&host, window.since_ms, now + 1)
        })
        .await?;
    let answer = SystemMetrics {
        minutes: window.hours * 60.0,
        status: latest
            .sample
            .as_ref()
            .map(|sample| state.host.thresholds.assess(sample)),
        current: latest.sample,
        top_processes: latest.top,
        statistics: host_history::statistics(&points).into_iter().collect(),
        history: History {
            samples: points.len(),
            points: host_history::downsample(&points, MAX_POINTS),
        },
        host,
    };
    Ok(envelope::success(&answer))
}
