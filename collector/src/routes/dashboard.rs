//! `GET /api/v1/monitoring/dashboard?hours=` (or `from=&to=`): everything a dashboard shows
//! in one answer, shaped like the seed design's example: the host now and its status, the API
//! and AI statistics, the frontend vitals and the sessions of the window, and the active alerts.

use actix_web::{web, HttpResponse};
use futures_util::future::try_join5;
use serde::{Deserialize, Serialize};

use crate::backend_stats::{AiStats, ApiStats, TOP_GROUPS};
use crate::clock;
use crate::envelope;
use crate::error::ApiError;
use crate::host_history::{Assessment, HostPoint};
use crate::routes::alerts::{active_alerts, AlertView};
use crate::routes::backend_stats::{ai_statistics, api_statistics};
use crate::routes::sessions::session_statistics;
use crate::routes::vitals::vitals_report;
use crate::session_stats::SessionStats;
use crate::state::AppState;
use crate::stats::VitalsReport;
use crate::window::WindowParams;

/// The query parameters.
#[derive(Debug, Deserialize)]
pub struct DashboardQuery {
    #[serde(flatten)]
    pub window: WindowParams,
}

/// The host's latest shares, as the seed design names them (percent).
#[derive(Debug, Serialize)]
struct Current {
    cpu_usage: Option<f64>,
    memory_usage: f64,
    /// The fullest disk's.
    disk_usage: Option<f64>,
}

/// The host now: its latest sample's shares and its status (`null` before the first sample).
#[derive(Debug, Serialize)]
struct SystemOverview {
    current: Option<Current>,
    #[serde(flatten)]
    assessment: Option<Assessment>,
}

#[derive(Debug, Serialize)]
struct Dashboard {
    hours: f64,
    from_ms: i64,
    to_ms: i64,
    system_overview: SystemOverview,
    api_statistics: ApiStats,
    ai_statistics: AiStats,
    frontend_vitals: VitalsReport,
    sessions: SessionStats,
    /// The alerts pending and firing now, each saying whether it is silenced or inhibited.
    active_alerts: Vec<AlertView>,
}

/// The dashboard's answer.
pub async fn dashboard(
    state: web::Data<AppState>,
    query: web::Query<DashboardQuery>,
) -> Result<HttpResponse, ApiError> {
    let now = clock::now_ms();
    let window = query.window.window_at(now)?;
    let latest = state.host.latest_sample();
    let system_overview = SystemOverview {
        assessment: latest
            .as_ref()
            .map(|sample| state.host.thresholds.assess(sample)),
        current: latest.map(|sample| {
            let point = HostPoint::of(&sample);
            Current {
                cpu_usage: point.cpu_percent,
                memory_usage: point.memory_percent,
                disk_usage: point.disk_percent,
            }
        }),
    };
    // Each part reads the store on the blocking pool: side by side, the answer takes as long
    // as the slowest part rather than their sum.
    let (api, ai, vitals, sessions, active_alerts) = try_join5(
        api_statistics(&state, window, None, TOP_GROUPS),
        ai_statistics(&state, window, None, TOP_GROUPS),
        vitals_report(&state, window, now, false),
        session_statistics(&state, window, now),
        active_alerts(&state),
    )
    .await?;
    let dashboard = Dashboard {
        hours: window.hours,
        from_ms: window.since_ms,
        to_ms: window.until_ms,
        system_overview,
        api_statistics: api,
        ai_statistics: ai,
        frontend_vitals: vitals,
        sessions,
        active_alerts,
    };
    Ok(envelope::success(&dashboard))
}
