//! `GET /api/v1/monitoring/system/metrics?minutes=`: the host now, its history over the window
//! (at most 500 points per series) and statistics (min / avg / max / p95), with its status.
//! Windows up to a day read the samples; longer ones the hourly roll-ups (whole hours up to
//! the last one ended, p95 within 1 %), which outlive the samples.

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

/// Windows up to this long read the samples themselves; longer ones the hourly roll-ups.
pub const SAMPLES_WINDOW_HOURS: f64 = 24.0;

/// The query parameters.
#[derive(Debug, Deserialize)]
pub struct MetricsQuery {
    /// Minutes back from now (decimal, default 60, at most 129600). Text, so that a bad value
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
    /// `samples` (up to a day) or `hourly_rollups` (longer windows).
    pub source: &'static str,
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
    /// Samples in the window.
    pub samples: usize,
    /// The points (each the mean of the samples of its slice of the window, or of its hour).
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
    let (source, statistics, history) = if window.hours <= SAMPLES_WINDOW_HOURS {
        let points = state
            .with_store({
                let host = host.clone();
                move |store| store.host_points(&host, window.since_ms, now + 1)
            })
            .await?;
        let history = History {
            samples: points.len(),
            points: host_history::downsample(&points, MAX_POINTS),
        };
        ("samples", host_history::statistics(&points), history)
    } else {
        let hours = state
            .with_store({
                let host = host.clone();
                move |store| store.host_rollups(&host, window.since_ms, now + 1)
            })
            .await?;
        let statistics = host_history::rollup_statistics(&hours);
        let points = host_history::rollup_points(&hours);
        let history = History {
            samples: statistics
                .iter()
                .map(|(_, stats)| stats.samples)
                .max()
                .unwrap_or_default(),
            points: host_history::downsample(&points, MAX_POINTS),
        };
        ("hourly_rollups", statistics, history)
    };
    let answer = SystemMetrics {
        minutes: window.hours * 60.0,
        source,
        status: latest
            .sample
            .as_ref()
            .map(|sample| state.host.thresholds.assess(sample)),
        current: latest.sample,
        top_processes: latest.top,
        statistics: statistics.into_iter().collect(),
        history,
        host,
    };
    Ok(envelope::success(&answer))
}
