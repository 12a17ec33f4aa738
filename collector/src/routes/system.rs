//! `GET /api/v1/monitoring/system/info`: the host's facts.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::clock;
use crate::envelope;
use crate::state::AppState;
use crate::system::SystemInfo;

/// The answer's `data`: the facts gathered at start-up, and the uptime as of now.
#[derive(Debug, Serialize)]
pub struct SystemInfoAnswer<'a> {
    /// The fixed facts.
    #[serde(flatten)]
    pub info: &'a SystemInfo,
    /// Seconds since the host booted.
    pub uptime_seconds: Option<u64>,
}

/// The host's facts.
pub async fn system_info(state: web::Data<AppState>) -> HttpResponse {
    let now_secs = (clock::now_ms() / 1000.0) as u64;
    envelope::success(&SystemInfoAnswer {
        info: &state.system,
        uptime_seconds: state.system.uptime_seconds(now_secs),
    })
}
