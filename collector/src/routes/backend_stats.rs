//! `GET /api/v1/monitoring/api/stats?hours=&group_by=endpoint|user|status` and
//! `GET /api/v1/monitoring/ai/stats?hours=&group_by=model|user|provider` (or `from=&to=`
//! instead of `hours`): statistics over a backend's API and AI calls.
//!
//! They read the raw records of the window, one at a time, on the blocking pool
//! ([`crate::backend_stats`]): exact counts, sums and shares, percentiles within 1 %. Raw records
//! are kept `retention_days`; a window reaching further back counts what is still kept
//! (`"source": "raw"` says so) until these records have roll-ups of their own.

use actix_web::{web, HttpResponse};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::backend_stats::{
    AiGroupBy, AiStats, AiStatsBuilder, ApiGroupBy, ApiStats, ApiStatsBuilder,
};
use crate::clock;
use crate::envelope;
use crate::error::ApiError;
use crate::state::AppState;
use crate::window::{Window, WindowParams};

/// The query parameters.
#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    #[serde(flatten)]
    pub window: WindowParams,
    /// What to group by, taken as text so that a wrong value gets a message naming `group_by`.
    pub group_by: Option<String>,
}

/// `group_by`'s value as `G`, whose values `accepted` lists for the message.
fn group_by<G: DeserializeOwned>(
    query: &StatsQuery,
    accepted: &str,
) -> Result<Option<G>, ApiError> {
    query
        .group_by
        .as_deref()
        .map(|text| {
            serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
                let shown: String = text.chars().take(40).collect();
                ApiError::Query(format!("`group_by` must be {accepted}, got `{shown}`"))
            })
        })
        .transpose()
}

/// An answer: the window, where its numbers come from, and the statistics.
#[derive(Debug, Serialize)]
struct WindowStats<S> {
    hours: f64,
    from_ms: i64,
    to_ms: i64,
    /// `raw`: every record of the window still kept, read one by one.
    source: &'static str,
    #[serde(flatten)]
    stats: S,
}

impl<S: Serialize> WindowStats<S> {
    /// The envelope answering `stats` of `window`, read from the raw records.
    fn answer(window: Window, stats: S) -> HttpResponse {
        envelope::success(&Self {
            hours: window.hours,
            from_ms: window.since_ms,
            to_ms: window.until_ms,
            source: "raw",
            stats,
        })
    }
}

/// The API statistics of `window`.
pub async fn api_statistics(
    state: &AppState,
    window: Window,
    group_by: Option<ApiGroupBy>,
) -> Result<ApiStats, ApiError> {
    Ok(state
        .with_store(move |store| {
            let seconds = (window.until_ms - window.since_ms) as f64 / 1000.0;
            let mut builder = ApiStatsBuilder::new(seconds, group_by);
            store.scan_api_calls(window.since_ms, window.until_ms, &mut |row| {
                builder.add(row)
            })?;
            Ok(builder.finish())
        })
        .await?)
}

/// The AI statistics of `window`.
pub async fn ai_statistics(
    state: &AppState,
    window: Window,
    group_by: Option<AiGroupBy>,
) -> Result<AiStats, ApiError> {
    Ok(state
        .with_store(move |store| {
            let mut builder = AiStatsBuilder::new(group_by);
            store.scan_ai_calls(window.since_ms, window.until_ms, &mut |row| {
                builder.add(row)
            })?;
            Ok(builder.finish())
        })
        .await?)
}

/// API call statistics.
pub async fn api_stats(
    state: web::Data<AppState>,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let window = query.window.window_at(clock::now_ms())?;
    let group_by: Option<ApiGroupBy> = group_by(&query, "`endpoint`, `user` or `status`")?;
    let stats = api_statistics(&state, window, group_by).await?;
    Ok(WindowStats::answer(window, stats))
}

/// AI call statistics.
pub async fn ai_stats(
    state: web::Data<AppState>,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let window = query.window.window_at(clock::now_ms())?;
    let group_by: Option<AiGroupBy> = group_by(&query, "`model`, `user` or `provider`")?;
    let stats = ai_statistics(&state, window, group_by).await?;
    Ok(WindowStats::answer(window, stats))
}
