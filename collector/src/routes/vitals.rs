//! `GET /api/v1/monitoring/frontend/vitals?hours=&group_by=page` (or `from=&to=` instead of
//! `hours`): web vitals statistics.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::clock;
use crate::envelope;
use crate::error::ApiError;
use crate::error_stats;
use crate::rollup;
use crate::state::AppState;
use crate::stats::VitalsReport;
use crate::store::{Store, StoreError};
use crate::timing_stats::TimingsBuilder;
use crate::window::{Window, WindowParams};

/// The query parameters.
#[derive(Debug, Deserialize)]
pub struct VitalsQuery {
    #[serde(flatten)]
    pub window: WindowParams,
    /// `page` to add a per-page breakdown.
    pub group_by: Option<GroupBy>,
}

/// What the report can be broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// Per route (or URL when the page has no route).
    Page,
}

/// Windows within this many hours of now are answered from the raw events (exact; raw events
/// are kept at least a day), others from the roll-ups.
pub const RAW_WINDOW_HOURS: f64 = 24.0;

/// Most raw vitals one report reads (about 80 bytes each in memory, with its page): a window
/// holding more is read from the roll-ups instead, so that a busy day is never held whole.
pub const RAW_VITALS_MAX: usize = 250_000;

/// The vitals alone of `window` (no timings, no errors): from the raw events when it lies
/// within the last [`RAW_WINDOW_HOURS`] of `now_ms` and holds at most [`RAW_VITALS_MAX`] of
/// them (exact nearest-rank p75, the newest minute included), else from the roll-ups (within
/// 1 %, the newest minute once rolled; `source` says which). Blocking.
pub fn read_vitals(
    store: &dyn Store,
    window: Window,
    now_ms: f64,
    by_page: bool,
) -> Result<VitalsReport, StoreError> {
    read_vitals_within(store, window, now_ms, by_page, RAW_VITALS_MAX)
}

/// [`read_vitals`], reading at most `max_raw` raw vitals.
pub fn read_vitals_within(
    store: &dyn Store,
    window: Window,
    now_ms: f64,
    by_page: bool,
    max_raw: usize,
) -> Result<VitalsReport, StoreError> {
    // Raw events are kept at least a day: a window inside the last day reads them.
    let raw_kept_since = clock::to_epoch_ms(now_ms - RAW_WINDOW_HOURS * 3.6e6);
    if window.since_ms >= raw_kept_since {
        if let Some(rows) = store.vital_rows(window.since_ms, window.until_ms, max_raw)? {
            return Ok(VitalsReport::new(window.hours, rows, by_page));
        }
    }
    vitals_from_rollups(store, window, by_page)
}

/// The vitals of `window` from the per-minute roll-ups alone (within 1 %, up to the last
/// roll-up pass), whatever its size: memory holds a few hundred series, never raw vitals.
pub fn vitals_from_rollups(
    store: &dyn Store,
    window: Window,
    by_page: bool,
) -> Result<VitalsReport, StoreError> {
    let rollup = rollup::read_window(store, window.since_ms, window.until_ms)?;
    Ok(VitalsReport::from_rollup(window.hours, rollup, by_page))
}

/// The vitals of `window`: from the raw events when it lies within the last
/// [`RAW_WINDOW_HOURS`] of `now_ms`, else from the roll-ups.
pub async fn vitals_report(
    state: &AppState,
    window: Window,
    now_ms: f64,
    by_page: bool,
) -> Result<VitalsReport, ApiError> {
    let timings = state
        .with_store(move |store| {
            let mut builder = TimingsBuilder::default();
            store.scan_timings(window.since_ms, window.until_ms, &mut |row| {
                builder.add(row)
            })?;
            Ok(builder.finish())
        })
        .await?;
    let errors = state
        .with_store(move |store| error_stats::read(store, window.since_ms, window.until_ms))
        .await?;
    let mut report = state
        .with_store(move |store| read_vitals(store, window, now_ms, by_page))
        .await?;
    report.timings = timings;
    report.errors = errors;
    Ok(report)
}

/// p75, count and rating shares of each vital in the window, with what the pages timed and
/// the errors they reported.
pub async fn frontend_vitals(
    state: web::Data<AppState>,
    query: web::Query<VitalsQuery>,
) -> Result<HttpResponse, ApiError> {
    let now = clock::now_ms();
    let window = query.window.window_at(now)?;
    let by_page = query.group_by == Some(GroupBy::Page);
    let report = vitals_report(&state, window, now, by_page).await?;
    Ok(envelope::success(&report))
}
